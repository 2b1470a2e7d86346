import { RegistryError } from '../errors.js';
import { HttpError } from './http-error.js';

/**
 * How many event streams one handler keeps open at once. Each open stream may
 * hold `maxStreamBufferBytes` for a client that stopped reading, so without a
 * cap any number of connections to `GET /events` could hold any amount of
 * memory; past it, a new stream is refused with 503 `TOO_MANY_STREAMS`.
 *
 * @example
 * ```ts
 * const slots = new StreamSlots(200);
 * const release = slots.take(); // throws TOO_MANY_STREAMS past 200
 * release(); // when the stream ends; a second call does nothing
 * ```
 */
export class StreamSlots {
  #open = 0;

  constructor(readonly max: number) {
    if (!(Number.isSafeInteger(max) || max === Number.POSITIVE_INFINITY) || max < 0)
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `maxEventStreams must be a non-negative integer (or Infinity for no cap); got ${String(max)}.`,
        { details: { option: 'maxEventStreams' } },
      );
  }

  /** Streams open now. */
  get open(): number {
    return this.#open;
  }

  /** Takes a slot, or throws `TOO_MANY_STREAMS`; the returned function gives it back once. */
  take(): () => void {
    if (this.#open >= this.max)
      throw new HttpError(
        'TOO_MANY_STREAMS',
        `This server already has ${this.max} event streams open (maxEventStreams); retry later, or raise maxEventStreams.`,
        { details: { limit: this.max } },
      );
    this.#open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
    };
  }
}
