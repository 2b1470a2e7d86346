import { RegistryError } from '../errors.js';
import { assertNotReserved, isEvent } from '../event-shape.js';
import { claimSource } from '../event-source.js';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import { json } from './error-response.js';
import { HttpError } from './http-error.js';

const FINISHED = ['done', 'error', 'stopped'] as const;

/**
 * Sends an event and answers 202 `{ accepted, changed, status }`: whether the
 * event changed the instance's status, state or context, and its status after it.
 * `xstate.*` events are refused (`RESERVED_EVENT`) unless `allowReserved`.
 *
 * @example
 * ```ts
 * await eventReply(registry, 'po-7', { type: 'APPROVE' }, linked, false); // 202 { changed: true, ... }
 * ```
 */
export async function eventReply(
  registry: Registry<any>,
  id: string,
  event: unknown,
  linked: (status: InstanceStatus) => unknown,
  allowReserved: boolean,
  idempotencyKey?: string,
): Promise<Response> {
  if (isEvent(event) && !allowReserved) assertNotReserved(event);
  const before = await registry.getStatus(id);
  // A non-object is refused by send itself, with its own error.
  const release = isEvent(event) ? claimSource(event, 'http') : undefined;
  try {
    await registry.send(id, event as never, idempotencyKey === undefined ? {} : { idempotencyKey });
  } finally {
    release?.();
  }
  const after = await registry.getStatus(id);
  const changed =
    !before ||
    !after ||
    before.status !== after.status ||
    JSON.stringify([before.value, before.context]) !== JSON.stringify([after.value, after.context]);
  return json(202, { accepted: true, changed, ...(after ? { status: linked(after) } : {}) });
}

/**
 * The status of `id`; with `waitMs`, a long poll that ends when the instance
 * finishes (200), when the wait runs out while it still runs (202 +
 * `Retry-After`, like Durable Functions), or when `signal` aborts (the client
 * hung up: the waiter is removed).
 *
 * @example
 * ```ts
 * await longPoll(registry, 'nightly', 15_000, request.signal, linked); // 200 done, or 202 running
 * ```
 */
export async function longPoll(
  registry: Registry<any>,
  id: string,
  waitMs: number,
  signal: AbortSignal,
  linked: (status: InstanceStatus) => unknown,
): Promise<Response> {
  let status = await registry.getStatus(id);
  if (!status) throw notFound(id);
  if (waitMs <= 0 || status.status !== 'running') return json(200, linked(status));
  try {
    status = await registry.waitFor(id, [...FINISHED], { timeoutMs: waitMs, signal });
    return json(200, linked(status));
  } catch (err) {
    if (!(err instanceof RegistryError && err.code === 'TIMEOUT')) throw err;
  }
  status = await registry.getStatus(id);
  if (!status) throw notFound(id);
  const finished = status.status !== 'running';
  return json(finished ? 200 : 202, linked(status), finished ? {} : { 'retry-after': '1' });
}

/**
 * The health probes: `/healthz` (the process is up) and `/readyz` (the registry
 * is open and its store not failing, else `NOT_READY`); `undefined` for other paths.
 *
 * @example
 * ```ts
 * await probe(registry, '/readyz'); // 200 { ready: true }
 * ```
 */
export async function probe(registry: Registry<any>, path: string): Promise<Response | undefined> {
  if (path === '/healthz') return json(200, { ok: true });
  if (path !== '/readyz') return undefined;
  const { open, storeFailing } = registry.health();
  if (open && !storeFailing) return json(200, { ready: true });
  throw new HttpError(
    'NOT_READY',
    open ? 'The store is failing: writes are being retried.' : 'The registry is not open.',
    { details: { open, storeFailing } },
  );
}

function notFound(id: string): RegistryError {
  return new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}'.`, { details: { id } });
}
