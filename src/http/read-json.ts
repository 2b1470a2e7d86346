import { RegistryError } from '../errors.js';
import { safeJsonParse } from '../record.js';
import { bodyDecoder } from './body-charset.js';
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
  const bytes = await readBytes(request, maxBytes);
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  const decoder = bodyDecoder(type, bytes);
  let strict: string | undefined;
  try {
    if (!(decoder instanceof HttpError)) strict = decoder.decode(bytes);
  } catch {}
  const text = strict ?? bytes.toString('utf8');
  if (text.trim() === '') {
    if (required)
      throw new RegistryError(
        'INVALID_EVENT',
        'The request needs a JSON body: an event such as {"type":"APPROVE"}.',
      );
    return undefined;
  }
  if (!isJsonType(type)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The body must be JSON with content-type application/json, got '${type || 'none'}'.`,
    );
  }
  if (decoder instanceof HttpError) throw decoder;
  // Decoded leniently, a bad byte would become U+FFFD in the stored value without a word.
  if (strict === undefined)
    throw new HttpError(
      'INVALID_JSON',
      `The body is not valid ${decoder.encoding}; send it encoded as UTF-8.`,
    );
  let value: unknown;
  try {
    value = safeJsonParse(strict);
  } catch (cause) {
    throw new HttpError(
      'INVALID_JSON',
      `The body is not valid JSON: ${(cause as Error).message}.`,
      { cause },
    );
  }
  // JSON.parse reads 1e400 as Infinity, a value JSON cannot hold: refused, not
  // stored as something the client never sent. Only a three-digit exponent,
  // or a run of digits long enough that a two-digit exponent (at most 99) or
  // none lifts it past 10^308, can overflow: 210 digits or more.
  if (/[eE][+]?\d{3}|\d{210}/.test(strict) && hasInfinity(value))
    throw new HttpError(
      'INVALID_JSON',
      'A number in the body is too large for a double (it would read as Infinity).',
    );
  // XState stores a reference to a child actor as { xstate$$type: 1, id } and
  // turns every such object back into the child (or undefined) at a restore:
  // a client's object of that shape, copied into context, would come back changed.
  if ((strict.includes('xstate') || strict.includes('\\u')) && hasKey(value, ACTOR_REF_KEY))
    throw new HttpError(
      'INVALID_JSON',
      `The body holds the key '${ACTOR_REF_KEY}', which XState reserves for references to child actors: stored, the object would come back as one. Rename the key.`,
    );
  return value;
}

const ACTOR_REF_KEY = 'xstate$$type';

function hasKey(root: unknown, key: string): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value && typeof value === 'object') {
      if (Object.hasOwn(value, key)) return true;
      for (const item of Object.values(value)) stack.push(item);
    }
  }
  return false;
}

// A loop over a stack, not recursion: a parsed body may nest far deeper than
// the call stack reaches (JSON.parse does not recurse), and a walk that gave up
// at some depth let 1e400 through below it.
function hasInfinity(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return true;
    } else if (value && typeof value === 'object') {
      for (const item of Object.values(value)) stack.push(item);
    }
  }
  return false;
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes.`, {
    details: { limit: maxBytes },
  });
}

async function readBytes(request: Request, maxBytes: number): Promise<Buffer> {
  if (!request.body) return Buffer.alloc(0);
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
  return Buffer.concat(chunks);
}
