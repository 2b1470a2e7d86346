import { nanoid } from 'nanoid';
import type { AnyActor } from 'xstate';
import type { SingletonResult } from './registry-options.js';
import type { RegistryParts } from './registry-parts.js';
import { type EnsureOptions, type EnsureResult, ensure } from './singleton.js';
import { statusOf } from './status.js';
import type { TelemetryHook } from './telemetry-hook.js';

/** The options of a call that passed none: shared, not a new object per call. */
const NO_OPTIONS: EnsureOptions = Object.freeze({});

/**
 * `registry.spawnSingleton`: the running actor for `id`, created if there is
 * none, each call in a `spawn` span when telemetry is on.
 *
 * @example
 * ```ts
 * const actor = await spawnSingleton(parts, telemetry, 'job', 'nightly', { input: { day } });
 * ```
 */
export function spawnSingleton(
  parts: RegistryParts,
  telemetry: TelemetryHook,
  type: string,
  id: string,
  options: EnsureOptions | undefined,
  /** Sets up an instance hosted elsewhere so that its stand-in's sends reach the owner. */
  reachable: (r: EnsureResult) => EnsureResult = (r) => r,
): Promise<AnyActor> {
  try {
    const r = telemetry.active
      ? telemetry.span('spawn', id, type, () => ensure(parts, type, id, options ?? NO_OPTIONS))
      : ensure(parts, type, id, options ?? NO_OPTIONS);
    // Hot path: a result known now costs one promise, not two.
    return r instanceof Promise ? r.then((x) => reachable(x).actor) : Promise.resolve(r.actor);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * `registry.ensureSingleton`: {@link spawnSingleton}, also telling whether this
 * call created the instance, and its status.
 *
 * @example
 * ```ts
 * const { actor, handle, created } = await ensureSingleton(parts, telemetry, 'job', 'nightly', {}, (r) => r, (id) => registry.actor('job', id));
 * ```
 */
export function ensureSingleton(
  parts: RegistryParts,
  telemetry: TelemetryHook,
  type: string,
  id: string,
  options: EnsureOptions | undefined,
  reachable: (r: EnsureResult) => EnsureResult,
  /** The handle on the instance, `registry.actor(type, id)`. */
  handleOf: (id: string) => unknown,
): Promise<SingletonResult<AnyActor, unknown>> {
  let pending: EnsureResult | Promise<EnsureResult>;
  try {
    pending = telemetry.active
      ? telemetry.span('spawn', id, type, () => ensure(parts, type, id, options ?? NO_OPTIONS))
      : ensure(parts, type, id, options ?? NO_OPTIONS);
  } catch (err) {
    return Promise.reject(err);
  }
  return Promise.resolve(pending).then((r) => ({
    actor: reachable(r).actor,
    handle: handleOf(r.instance.id),
    created: r.created,
    status: statusOf(r.instance),
  }));
}

/**
 * `registry.spawn`: creates an instance under a new, generated ID (nanoid).
 *
 * @example
 * ```ts
 * const actor = await spawnWithNewId(parts, telemetry, 'session', { user });
 * ```
 */
export async function spawnWithNewId(
  parts: RegistryParts,
  telemetry: TelemetryHook,
  type: string,
  input: unknown,
): Promise<AnyActor> {
  const id = nanoid();
  const r = await telemetry.span('spawn', id, type, () =>
    ensure(parts, type, id, { input, ifRunning: 'throw', ifFinished: 'throw' }),
  );
  return r.actor;
}
