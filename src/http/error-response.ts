import { RegistryError, type RegistryErrorCode } from '../errors.js';
import type { InstanceStatus } from '../status.js';
import { HttpError, type HttpErrorCode } from './http-error.js';

const STATUS: Partial<Record<RegistryErrorCode | HttpErrorCode, number>> = {
  INVALID_INSTANCE_ID: 400,
  INVALID_EVENT: 400,
  INVALID_ARGUMENT: 400,
  INVALID_JSON: 400,
  RESERVED_EVENT: 400,
  FORBIDDEN: 403,
  CROSS_ORIGIN_REFUSED: 403,
  HOST_NOT_ALLOWED: 403,
  UNKNOWN_MACHINE: 404,
  INSTANCE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  TYPE_MISMATCH: 409,
  INSTANCE_EXISTS: 409,
  INSTANCE_NOT_RUNNING: 409,
  INSTANCE_RUNNING: 409,
  OWNED_ELSEWHERE: 409,
  FENCED: 409,
  QUARANTINE_FAILED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SNAPSHOT_TOO_LARGE: 413,
  NOT_SERIALIZABLE: 422,
  REGISTRY_CLOSED: 503,
  REGISTRY_NOT_STARTED: 503,
  PERSIST_FAILED: 503,
  NOT_READY: 503,
  TOO_MANY_STREAMS: 503,
  TIMEOUT: 504,
};

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * The JSON error answer for anything thrown while handling a request:
 * `{ error: { code, message, details } }` with the status that fits the code.
 * Errors that are not ours become a 500 with code `INTERNAL` and no internals;
 * for 5xx errors of ours (a failing store...) the details are left out and
 * file paths in the message are masked, since they describe the server.
 *
 * @example
 * ```ts
 * app.post('/jobs/:id', async (c) => {
 *   try { await registry.spawnSingleton('job', c.req.param('id'), { ifRunning: 'throw' }); }
 *   catch (err) { return errorResponse(err); } // 409 { error: { code: 'INSTANCE_EXISTS', ... } }
 * });
 * ```
 */
export function errorResponse(err: unknown, headers: Record<string, string> = {}): Response {
  const error: RegistryError<string> =
    err instanceof RegistryError
      ? err
      : new HttpError('INTERNAL', 'The server failed to handle the request; see its logs.', {
          cause: err,
        });
  // A record this process cannot decode (a rolling deploy) was left for a process
  // that can: a retry, which a load balancer may send to another replica, will do.
  const leftForAnother = error.details.leftForAnotherProcess === true;
  const status = leftForAnother
    ? 503
    : (STATUS[error.code as RegistryErrorCode | HttpErrorCode] ?? 500);
  if (leftForAnother && !('retry-after' in headers)) headers = { ...headers, 'retry-after': '1' };
  // Streams close when tabs do; the dashboard retries a refused stream after as long.
  if (error.code === 'TOO_MANY_STREAMS') headers = { ...headers, 'retry-after': '5' };
  const body =
    status >= 500
      ? { code: error.code, message: maskPaths(error.message) }
      : { code: error.code, message: error.message, details: error.details };
  return json(status, { error: body }, headers);
}

// An absolute POSIX or Windows path of two or more segments, after a space, quote, bracket or colon.
const PATH = /(^|[\s'"`(=:])((?:[A-Za-z]:)?[\\/](?:[^\s'"`)\\/]+[\\/])+[^\s'"`),]*)/g;

/**
 * Masks absolute file paths in a message served over HTTP: `open '/srv/app/data/x.json'`
 * becomes `open '<path>'`.
 *
 * @example
 * ```ts
 * maskPaths("EACCES: open '/srv/data/a.json'"); // "EACCES: open '<path>'"
 * ```
 */
export function maskPaths(message: string): string {
  return message.replace(PATH, (_m, before: string) => `${before}<path>`);
}

/**
 * The status as served over HTTP: an error keeps its name, code and message
 * (paths masked) but not its stack, unless `exposeErrors` (for development).
 *
 * @example
 * ```ts
 * publicStatus(status, false).error; // { name: 'TypeError', message: 'boom' }, no stack
 * ```
 */
export function publicStatus<T extends InstanceStatus>(status: T, exposeErrors: boolean): T {
  if (!status.error || exposeErrors) return status;
  const { stack: _stack, ...error } = status.error;
  return { ...status, error: { ...error, message: maskPaths(error.message) } };
}
