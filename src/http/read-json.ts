import { RegistryError } from '../errors.js';
import { safeJsonParse } from '../record.js';
import { isJsonType } from './cross-site-guard.js';
import { HttpError } from './http-error.js';

/**
 * Reads a JSON request body within `maxBytes`. An empty body is `undefined`
 * unless `required`. Keys named `__proto__` are dropped: machines often copy
 * event payloads into context with `assign`, which would otherwise re-parent it.
 *
 * @example
 * ```ts
 * const event = await readJson(request, 1024 * 1024, true); // throws INVALID_EVENT when empty
 * ```
 */
export async function readJson(
  request: Request,
  maxBytes: number,
  required: boolean,
): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = await readText(request, maxBytes);
  if (text.trim() === '') {
    if (required)
      throw new RegistryError(
        'INVALID_EVENT',
        'The request needs a JSON body: an event such as {"type":"APPROVE"}.',
      );
    return undefined;
  }
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!isJsonType(type)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The body must be JSON with content-type application/json, got '${type || 'none'}'.`,
    );
  }
  try {
    return safeJsonParse(text);
  } catch (cause) {
    throw new HttpError(
      'INVALID_JSON',
      `The body is not valid JSON: ${(cause as Error).message}.`,
      { cause },
    );
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes.`, {
    details: { limit: maxBytes },
  });
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
