import { assign, createMachine, fromPromise, sendTo, setup } from 'xstate';

/** Counts entry actions per actor ID, so tests can prove "created exactly once". */
export const entries = new Map<string, number>();

export const counter = setup({
  types: {
    context: {} as { count: number; label: string },
    // biome-ignore lint/suspicious/noConfusingVoidType: XState's setup() drops `| undefined` from an input type; `| void` keeps the input optional.
    input: {} as { label?: string } | void,
    events: {} as { type: 'INC' } | { type: 'FINISH' } | { type: 'BOOM' },
  },
  actions: {
    countEntry: ({ self }) => entries.set(self.id, (entries.get(self.id) ?? 0) + 1),
    explode: () => {
      throw new Error('kaboom');
    },
  },
}).createMachine({
  id: 'counter',
  context: ({ input }) => ({ count: 0, label: input?.label ?? 'none' }),
  entry: 'countEntry',
  initial: 'active',
  states: {
    active: {
      on: {
        INC: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        FINISH: 'finished',
        BOOM: { actions: 'explode' },
      },
    },
    finished: { type: 'final' },
  },
  output: ({ context }) => ({ total: context.count }),
});

/** Waits, then fires: `after` delays, delayed raise, and a delayed sendTo a child. */
export const reminder = setup({
  types: { context: {} as { log: string[] } },
  actors: {
    child: createMachine({
      id: 'child',
      initial: 'idle',
      states: {
        idle: { on: { PING: 'pinged' } },
        pinged: { after: { 500: 'ponged' } },
        ponged: {},
      },
    }),
  },
}).createMachine({
  id: 'reminder',
  context: { log: [] },
  initial: 'waiting',
  invoke: { id: 'kid', src: 'child' },
  states: {
    waiting: {
      entry: [sendTo('kid', { type: 'PING' }, { delay: 2000 })],
      after: { 1000: 'reminded' },
    },
    reminded: {
      entry: assign({ log: ({ context }) => [...context.log, 'reminded'] }),
      after: { 86400000: 'expired' },
    },
    expired: { type: 'final' },
  },
});

export const failingOnStart = createMachine({
  id: 'failingOnStart',
  entry: () => {
    throw new Error('entry failed');
  },
});

export const rejecting = setup({
  actors: { work: fromPromise(async () => Promise.reject(new Error('work failed'))) },
}).createMachine({
  id: 'rejecting',
  invoke: { src: 'work' },
  initial: 'working',
  states: { working: {} },
});

export const machines = { counter, reminder, failingOnStart, rejecting };
