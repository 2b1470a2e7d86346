import type { Clock } from './clock.js';
import { RegistryError } from './errors.js';
import type { Instance } from './instance.js';
import type { InstanceStatusName } from './record.js';
import type { RegistryGate } from './registry-gate.js';
import { type InstanceStatus, statusOf } from './status.js';

/**
 * A status name, a list of them, or a predicate over the status: what `registry.waitFor` waits for.
 *
 * @example
 * ```ts
 * const cond: WaitCondition = (s) => s.value === 'shipped';
 * ```
 */
export type WaitCondition<S extends InstanceStatus = InstanceStatus> =
  | InstanceStatusName
  | readonly InstanceStatusName[]
  | ((status: S) => boolean);

const STATUS_NAMES = new Set<string>(['running', 'done', 'error', 'stopped']);

/** Turns a {@link WaitCondition} into a predicate; throws `INVALID_ARGUMENT` for anything else. */
export function toPredicate(condition: WaitCondition): (status: InstanceStatus) => boolean {
  if (typeof condition === 'function') return condition;
  const wanted = typeof condition === 'string' ? [condition] : condition;
  if (!Array.isArray(wanted) || wanted.length === 0 || !wanted.every((s) => STATUS_NAMES.has(s))) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      "waitFor: pass a status ('running', 'done', 'error', 'stopped'), a list of them, or a predicate.",
    );
  }
  return (status) => wanted.includes(status.status);
}

/** Throws `INVALID_ARGUMENT` unless `signal` is absent or an `AbortSignal` (by its shape: one from another realm is fine). */
export function assertSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (
    !s ||
    typeof s !== 'object' ||
    typeof s.aborted !== 'boolean' ||
    typeof s.addEventListener !== 'function' ||
    typeof s.removeEventListener !== 'function'
  ) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      "waitFor: signal must be an AbortSignal (for example AbortSignal.timeout(ms), or an AbortController's signal).",
    );
  }
}

/** The absolute deadline for `timeoutMs` from now on `clock`; throws `INVALID_ARGUMENT` for a bad timeout. */
export function deadlineOf(clock: Clock, timeoutMs: number | undefined): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'waitFor: timeoutMs must be a number of milliseconds, 0 or more.',
    );
  }
  return clock.now() + timeoutMs;
}

/**
 * Resolves with the status of `instance` once `test` holds, re-checking on
 * every change; rejects with `TIMEOUT` at `deadline` on `clock`, with
 * `INSTANCE_NOT_FOUND` if the instance goes away (purged, or taken over by
 * another process), with `ABORTED` once `signal` aborts (its waiter is removed
 * then, so an abandoned wait holds nothing), and with `REGISTRY_CLOSED` once
 * the registry's `gate` closes.
 */
export function watchInstance(
  instance: Instance,
  test: (status: InstanceStatus) => boolean,
  options: {
    clock: Clock;
    deadline: number | undefined;
    gate: Pick<RegistryGate, 'isClosing' | 'closedError'>;
    signal?: AbortSignal | undefined;
  },
): Promise<InstanceStatus> {
  const { clock, deadline, signal } = options;
  if (signal?.aborted) return Promise.reject(abortedError(instance.id));
  const initial = statusOf(instance);
  if (test(initial)) return Promise.resolve(initial);
  return new Promise<InstanceStatus>((resolve, reject) => {
    let timer: unknown;
    const onAbort = () => done(abortedError(instance.id));
    const done = (err?: unknown, status?: InstanceStatus) => {
      instance.waiters?.delete(check);
      signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clock.clearTimeout(timer);
      if (err !== undefined) reject(err);
      else resolve(status as InstanceStatus);
    };
    const check = () => {
      if (instance.gone) {
        return done(
          new RegistryError(
            'INSTANCE_NOT_FOUND',
            `Instance '${instance.id}' was purged or taken over while waiting for it.`,
            {
              details: { id: instance.id },
            },
          ),
        );
      }
      if (options.gate.isClosing) return done(options.gate.closedError());
      const status = statusOf(instance);
      // The caller's predicate runs inside XState's processing of the change:
      // what it throws is this wait's failure, never XState's (which would
      // leave the actor's mailbox stuck, or crash the process from a timer).
      let met: boolean;
      try {
        met = test(status);
      } catch (err) {
        return done(err);
      }
      if (met) done(undefined, status);
    };
    instance.waiters ??= new Set();
    instance.waiters.add(check);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== undefined) {
      const timeoutMs = deadline - clock.now();
      // Passed already (a test clock moved on while the wait awaited the
      // registry's start or an activation): a clock timer of 0 would fire
      // only at the clock's next move, and the wait hung until then.
      if (timeoutMs <= 0) return done(timeoutError(instance.id, deadline));
      timer = clock.setTimeout(() => done(timeoutError(instance.id, deadline)), timeoutMs);
    }
  });
}

/**
 * `work` (claiming, activating or reading an instance for a wait), cut short
 * by the wait's own deadline on `clock` (`TIMEOUT`) and by `signal`
 * (`ABORTED`): a store that blocks (a locked table, a stalled disk) must not
 * hold a wait past either. What `work` answers after that is dropped.
 *
 * @example
 * ```ts
 * const here = await bounded(gate.exclusive(id, () => reach(parts, id)), id, { clock, deadline, signal });
 * ```
 */
export function bounded<T>(
  work: Promise<T>,
  id: string,
  options: { clock: Clock; deadline: number | undefined; signal?: AbortSignal | undefined },
): Promise<T> {
  const { clock, deadline, signal } = options;
  if (deadline === undefined && signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    let timer: unknown;
    const onAbort = () => finish(() => reject(abortedError(id)));
    const finish = (settle: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      settle();
    };
    // Handled first: a wait that ends before `work` does must not leave its
    // failure unhandled (a rejection nobody hears ends the process).
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // A deadline passed already still lets `work` finish first (timeoutMs: 0 on
    // a passivated instance answers from its status, as on a live one): the
    // wait that follows it times out at once (see watchInstance).
    if (deadline !== undefined)
      timer = clock.setTimeout(
        () => finish(() => reject(timeoutError(id, deadline))),
        Math.max(0, deadline - clock.now()),
      );
  });
}

function timeoutError(id: string, deadline: number): RegistryError {
  return new RegistryError(
    'TIMEOUT',
    `Instance '${id}' did not reach the awaited condition in time.`,
    {
      details: { id, deadline: new Date(deadline).toISOString() },
    },
  );
}

function abortedError(id: string): RegistryError {
  return new RegistryError('ABORTED', `Waiting for instance '${id}' was aborted by its signal.`, {
    details: { id },
  });
}

/**
 * `waitFor` on an instance another process hosts: its stored status, read
 * again by `poll` until `test` holds; `INSTANCE_NOT_FOUND` once it is gone,
 * `TYPE_MISMATCH`, `ABORTED` and `TIMEOUT` (on `clock`) as for a local wait.
 *
 * @example
 * ```ts
 * await watchStored('order-7', (done) => remote.until('order-7', () => cluster.remoteStatus('order-7'), done), (s) => s.status === 'done', { clock, deadline });
 * ```
 */
export async function watchStored(
  id: string,
  poll: (done: (s: InstanceStatus | undefined) => boolean) => Promise<InstanceStatus | undefined>,
  test: (s: InstanceStatus) => boolean,
  options: {
    clock: Clock;
    deadline: number | undefined;
    signal?: AbortSignal | undefined;
    type?: string | undefined;
  },
): Promise<InstanceStatus> {
  const { clock, deadline, signal, type } = options;
  let failure: RegistryError | undefined;
  const status = await poll((s) => {
    if (s === undefined) {
      failure = new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to wait for.`, {
        details: { id },
      });
    } else if (type !== undefined && s.type !== type) {
      failure = new RegistryError(
        'TYPE_MISMATCH',
        `Instance '${id}' has type '${s.type}', not '${type}'; name its own type.`,
        { details: { id, type, existingType: s.type } },
      );
    } else if (test(s)) return true;
    else if (signal?.aborted) failure = abortedError(id);
    else if (deadline !== undefined && clock.now() >= deadline) {
      failure = timeoutError(id, deadline);
    }
    return failure !== undefined;
  });
  if (failure) throw failure;
  return status as InstanceStatus;
}
