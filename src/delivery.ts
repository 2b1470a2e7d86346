import type { AnyEventObject } from 'xstate';
import { isRegistryError, RegistryError } from './errors.js';
import { assertEvent, assertNotReserved } from './event-shape.js';
import { claimedSource, sendFrom } from './event-source.js';
import { assertIdempotencyKey, IdempotencyLog } from './idempotency.js';
import { assertInstanceId } from './instance-id.js';
import { assertType, bringHere, type RegistryParts } from './registry-parts.js';

/**
 * Event delivery past the registry's fast path: checked input, idempotency
 * keys, strict durability with backpressure (while the store lags
 * `maxPending` changes behind, callers wait before their event changes
 * anything), and instances that must first be adopted or activated.
 *
 * @example
 * ```ts
 * const delivery = new Delivery(parts, 10_000);
 * await delivery.send('order-7', { type: 'PAY' }, 'request-42');
 * ```
 */
export class Delivery {
  readonly #parts: RegistryParts;
  readonly #maxPending: number;
  #waiting: Array<() => void> = [];

  constructor(parts: RegistryParts, maxPending: number) {
    this.#parts = parts;
    this.#maxPending = maxPending;
    // Lives as long as the persister: both belong to one registry.
    parts.persister.onSettled(() => this.release());
  }

  /** Lets callers held back by backpressure go on, once the backlog is under the bound (or `all`, at close). */
  release(all = false): void {
    if (this.#waiting.length && (all || this.#parts.persister.backlog < this.#maxPending)) {
      for (const go of this.#waiting.splice(0)) go();
    }
  }

  async send(id: string, event: AnyEventObject, key?: string, type?: string): Promise<void> {
    const p = this.#parts;
    assertInstanceId(id);
    assertEvent(event);
    if (key !== undefined) assertIdempotencyKey(key);
    if (!p.allowReserved) assertNotReserved(event);
    await p.gate.ready();
    const deliver = () => {
      p.gate.assertOpen();
      const instance = p.instances.get(id);
      if (!instance)
        throw new RegistryError(
          'INSTANCE_NOT_FOUND',
          `No instance '${id}'; create it with spawnSingleton first.`,
          { details: { id } },
        );
      if (type !== undefined) assertType(id, instance.type, type);
      // A repeat answers like the first call, even once that call finished the instance.
      if (key !== undefined && instance.idempotencyKeys?.has(key, p.clock.now(), p.idempotency))
        return instance;
      if (instance.status !== 'running' || !instance.actor) {
        throw new RegistryError(
          'INSTANCE_NOT_RUNNING',
          `Instance '${id}' is ${instance.status} and takes no more events; replace it with spawnSingleton(..., { ifFinished: 'replace' }).`,
          { details: { id, status: instance.status } },
        );
      }
      p.passivation?.touch(instance);
      if (key !== undefined) {
        // Remembered in the same record as the event's effect; marked dirty even if
        // the event changes nothing, so that its repeat is known after a restart.
        instance.idempotencyKeys ??= new IdempotencyLog();
        instance.idempotencyKeys.add(key, p.clock.now(), p.idempotency);
        p.persister.markDirty(instance);
      }
      if (instance.def.history) sendFrom(instance.actor, event, 'api');
      else instance.actor.send(event);
      return instance;
    };
    // Strict mode: while the store lags too far behind, callers wait here, before
    // the event changes anything, rather than piling up undurable state.
    while (p.durability === 'strict' && p.persister.backlog >= this.#maxPending) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      p.gate.assertOpen();
    }
    const instance =
      p.gate.locks.isLocked(id) ||
      p.instances.get(id)?.passive ||
      (p.cluster && !p.instances.has(id))
        ? await p.gate.exclusive(id, async () => {
            try {
              await bringHere(p, id, false);
            } catch (err) {
              if (!p.remote || !isRegistryError(err, 'OWNED_ELSEWHERE')) throw err;
              // Hosted by another live process: mail it there. Posted under the
              // ID's lock, so this process's events for it keep their order.
              const source = claimedSource(event) === 'http' ? 'http' : 'api';
              await p.remote.post(id, { kind: 'event', event, key: key ?? '', source });
              return undefined;
            }
            return deliver();
          })
        : deliver();
    // Mailed: durable once posted; its owner applies it.
    if (instance && p.durability === 'strict') await p.persister.durable(instance);
  }
}
