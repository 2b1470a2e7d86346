export {
  createHttpHandler,
  encodeInstanceId,
  type FetchHandler,
  type HttpHandlerOptions,
  type StatusWithLinks,
} from './create-http-handler.js';
export { errorResponse } from './error-response.js';
export { toNodeListener } from './node-listener.js';
