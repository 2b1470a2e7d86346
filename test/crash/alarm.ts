import { assign, setup } from 'xstate';

/** Rings once, 2 s after it is created, recording when. */
export const alarm = setup({ types: { context: {} as { rangAt: number | null } } }).createMachine({
  id: 'alarm',
  context: { rangAt: null },
  initial: 'armed',
  states: {
    armed: { after: { 2000: { target: 'rang', actions: assign({ rangAt: () => Date.now() }) } } },
    rang: {},
  },
});
