/**
 * XState's actor system as xstate-registry reaches into it: the private fields
 * the scheduler mirror and the snapshot watch use, checked once per system so an
 * XState upgrade that drops one fails with a message, not a `TypeError` later.
 * This folder, `src/xstate-internals/`, is the one place that touches XState's
 * internals (see its README paragraph); `test/xstate-internals.test.ts` pins every
 * shape used here.
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import type { Clock } from '../clock.js';
import type { Timeouts as Mirror } from '../timeout-mirror.js';

/** A delayed event as XState's scheduler records it in `system._snapshot._scheduledEvents`. */
export interface ScheduledEvent {
  source: AnyActorRef;
  target: AnyActorRef;
  event: AnyEventObject;
  delay: number;
  id: string;
  /** Wall time when XState scheduled it (XState uses Date.now(), whatever the clock). */
  startedAt: number;
  /** Set by trackTimers: the due time on the registry's clock. */
  dueAt?: number;
}

/** XState's timeouts as the mirror keeps them (see timeout-mirror.ts). */
export type Timeouts = Mirror<ScheduledEvent>;

/** Symbols under which the registry keeps its own fields on XState's objects. */
export const TIMERS = Symbol('xstate-registry.timers');
export const FIRING = Symbol('xstate-registry.firing');
export const CLOCK = Symbol('xstate-registry.clock');

/** The private part of XState's actor system the registry uses. */
export interface InternalSystem {
  scheduler: {
    schedule(
      source: AnyActorRef,
      target: AnyActorRef,
      event: AnyEventObject,
      delay: number,
      id?: string,
    ): void;
    cancel(source: AnyActorRef, id: string): void;
  };
  _snapshot: { _scheduledEvents: Record<string, ScheduledEvent> };
  _clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  _relay(source: AnyActorRef | undefined, target: AnyActorRef, event: AnyEventObject): void;
  _sendInspectionEvent(event: {
    type: string;
    actorRef?: AnyActorRef;
    snapshot?: unknown;
    event?: AnyEventObject;
  }): void;
  /** Set by trackTimers: `null` until the first delayed event, so idle actors pay nothing. */
  [TIMERS]?: Timeouts | null;
  /** Set by trackTimers: the clock that dates delayed events. */
  [CLOCK]?: Clock;
  /** The event of the delayed event firing now, while trackTimers relays it. */
  [FIRING]?: AnyEventObject | undefined;
}

/**
 * The actor's system, checked to have every private field the registry uses.
 *
 * @example
 * ```ts
 * const system = systemOf(actor); // throws, naming the fields, on an XState that lacks them
 * ```
 */
export function systemOf(actor: AnyActorRef): InternalSystem {
  const system = (actor as unknown as { system?: InternalSystem }).system;
  if (
    !system ||
    typeof system.scheduler?.schedule !== 'function' ||
    typeof system._snapshot?._scheduledEvents !== 'object' ||
    typeof system._clock?.setTimeout !== 'function' ||
    typeof system._relay !== 'function' ||
    typeof system._sendInspectionEvent !== 'function'
  ) {
    throw new Error(
      'xstate-registry: this XState version does not expose the scheduler internals ' +
        'it relies on (system.scheduler, system._snapshot._scheduledEvents, system._clock, ' +
        'system._relay, system._sendInspectionEvent). ' +
        'Pin xstate to a version xstate-registry supports.',
    );
  }
  return system;
}
