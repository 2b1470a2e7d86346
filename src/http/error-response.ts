import { RegistryError, type RegistryErrorCode } from '../errors.js';

const STATUS: Partial<Record<RegistryErrorCode, number>> = {
  INVALID_INSTANCE_ID: 400,
  INVALID_EVENT: 400,
  INVALID_ARGUMENT: 400,
  INVALID_JSON: 400,
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
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SNAPSHOT_TOO_LARGE: 413,
  NOT_SERIALIZABLE: 422,
  REGISTRY_CLOSED: 503,
  REGISTRY_NOT_STARTED: 503,
  BACKPRESSURE: 503,
  PERSIST_FAILED: 503,
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
 * Errors that are not ours become a 500 with code `INTERNAL` and no internals.
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
  const error =
    err instanceof RegistryError
      ? err
      : new RegistryError('INTERNAL', 'The server failed to handle the request; see its logs.', {
          cause: err,
        });
  return json(
    STATUS[error.code] ?? 500,
    { error: { code: error.code, message: error.message, details: error.details } },
    headers,
  );
}
