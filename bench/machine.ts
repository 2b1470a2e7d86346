import { assign, setup } from 'xstate';

/** The benchmark's machine: a counter with a little context, as a typical small actor. */
export const counter = setup({
  types: { context: {} as { count: number; owner: string } },
}).createMachine({
  id: 'counter',
  context: { count: 0, owner: 'someone@example.com' },
  initial: 'active',
  states: {
    active: {
      on: {
        INC: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        FINISH: 'done',
      },
    },
    done: { type: 'final' },
  },
});
