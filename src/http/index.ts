export {
  type Authorize,
  createHttpHandler,
  encodeInstanceId,
  type FetchHandler,
  type HttpAction,
  type HttpHandlerOptions,
  type HttpTarget,
  type StatusWithLinks,
} from './create-http-handler.js';
export type { CorsOptions } from './cross-site-guard.js';
export { errorResponse } from './error-response.js';
export { eventStreamStats } from './event-stream.js';
export { HttpError, type HttpErrorCode, isHttpError } from './http-error.js';
export { toNodeListener } from './node-listener.js';
