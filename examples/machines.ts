/**
 * The demo machines: the seed's background job, an eternal actor, and an
 * approval that waits a day for a human. `npm start` hosts them over HTTP.
 */
import { assign, setup } from 'xstate';

/**
 * The seed's singleton background job: works through `steps` steps, one every
 * `stepMs`, and finishes with a report. At most one runs per instance ID.
 */
export const job = setup({
  types: {
    // biome-ignore lint/suspicious/noConfusingVoidType: XState's setup() drops `| undefined` from an input type; `| void` keeps the input optional.
    input: {} as { steps?: number; stepMs?: number } | void,
    context: {} as { steps: number; stepMs: number; done: number },
    events: {} as { type: 'CANCEL' },
    output: {} as { stepsDone: number; cancelled: boolean },
  },
  delays: { step: ({ context }) => context.stepMs },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({
    steps: Math.max(1, Math.min(input?.steps ?? 5, 1000)),
    stepMs: Math.max(10, input?.stepMs ?? 2000),
    done: 0,
  }),
  initial: 'working',
  states: {
    working: {
      always: { guard: ({ context }) => context.done >= context.steps, target: 'finished' },
      after: {
        step: {
          target: 'working',
          reenter: true,
          actions: assign({ done: ({ context }) => context.done + 1 }),
        },
      },
      on: { CANCEL: 'cancelled' },
    },
    finished: { type: 'final' },
    cancelled: { type: 'final' },
  },
  output: ({ context, self }) => ({
    stepsDone: context.done,
    cancelled: self.getSnapshot().value === 'cancelled',
  }),
});

/**
 * An eternal actor (Durable Functions' "eternal orchestration"): it never
 * finishes, beating every `intervalMs`, and keeps only its last few beats so its
 * state stays small however long it runs.
 */
export const heartbeat = setup({
  types: {
    // biome-ignore lint/suspicious/noConfusingVoidType: XState's setup() drops `| undefined` from an input type; `| void` keeps the input optional.
    input: {} as { intervalMs?: number } | void,
    context: {} as { intervalMs: number; beats: number; recent: number[] },
    events: {} as { type: 'PAUSE' } | { type: 'RESUME' },
  },
  delays: { interval: ({ context }) => context.intervalMs },
}).createMachine({
  id: 'heartbeat',
  context: ({ input }) => ({
    intervalMs: Math.max(100, input?.intervalMs ?? 5000),
    beats: 0,
    recent: [],
  }),
  initial: 'beating',
  states: {
    beating: {
      after: {
        interval: {
          target: 'beating',
          reenter: true,
          actions: assign({
            beats: ({ context }) => context.beats + 1,
            recent: ({ context }) => [...context.recent.slice(-4), Date.now()],
          }),
        },
      },
      on: { PAUSE: 'paused' },
    },
    paused: { on: { RESUME: 'beating' } },
  },
});

/** Waits up to a day for APPROVE or REJECT; a durable timer expires it across restarts. */
export const approval = setup({
  types: {
    // biome-ignore lint/suspicious/noConfusingVoidType: XState's setup() drops `| undefined` from an input type; `| void` keeps the input optional.
    input: {} as { subject?: string } | void,
    context: {} as { subject: string; decidedBy: string | null },
    events: {} as { type: 'APPROVE'; by?: string } | { type: 'REJECT'; by?: string },
  },
}).createMachine({
  id: 'approval',
  context: ({ input }) => ({ subject: String(input?.subject ?? 'something'), decidedBy: null }),
  initial: 'pending',
  states: {
    pending: {
      on: {
        APPROVE: {
          target: 'approved',
          actions: assign({ decidedBy: ({ event }) => String(event.by ?? 'someone') }),
        },
        REJECT: {
          target: 'rejected',
          actions: assign({ decidedBy: ({ event }) => String(event.by ?? 'someone') }),
        },
      },
      after: { 86400000: 'expired' },
    },
    approved: { type: 'final' },
    rejected: { type: 'final' },
    expired: { type: 'final' },
  },
});

export const demoMachines = { job, heartbeat, approval };
