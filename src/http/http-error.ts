import { RegistryError } from '../errors.js';

/**
 * The error codes only the HTTP layer produces, on top of the registry's
 * (`RegistryErrorCode`), which it also answers with.
 *
 * @example
 * ```ts
 * const code: HttpErrorCode = 'ROUTE_NOT_FOUND';
 * ```
 */
export type HttpErrorCode =
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'ROUTE_NOT_FOUND'
  | 'FORBIDDEN'
  | 'CROSS_ORIGIN_REFUSED'
  | 'HOST_NOT_ALLOWED'
  | 'BODY_CONSUMED'
  | 'NOT_READY'
  | 'TOO_MANY_STREAMS'
  | 'INTERNAL';

/**
 * An error of the HTTP layer itself (a bad request, a refused origin...), as
 * Hono's `HTTPException`. It is a {@link RegistryError}, so one `instanceof`
 * check and one JSON shape cover every error an HTTP answer carries.
 *
 * @example
 * ```ts
 * throw new HttpError('FORBIDDEN', 'Not allowed to send events.', { details: { action: 'send' } });
 * ```
 */
export class HttpError extends RegistryError<HttpErrorCode> {}

/**
 * Whether `err` is an {@link HttpError}, optionally with the given code.
 *
 * @example
 * ```ts
 * if (isHttpError(err, 'PAYLOAD_TOO_LARGE')) console.log(err.details.limit);
 * ```
 */
export function isHttpError(err: unknown, code?: HttpErrorCode): err is HttpError {
  return err instanceof HttpError && (code === undefined || err.code === code);
}
