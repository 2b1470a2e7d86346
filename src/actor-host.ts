import {
  type AnyActor,
  type AnyActorRef,
  type AnyEventObject,
  createActor,
  type InspectionEvent,
  type Observer,
} from 'xstate';
import type { Clock } from './clock.js';
import { RegistryError, serializeError } from './errors.js';
import { eventSource } from './event-source.js';
import { HistoryLog } from './history.js';
import type { Instance } from './instance.js';
import type { InstanceTable } from './instance-table.js';
import type { RegistryEmitter } from './registry-events.js';
import { reportSendsAfterStop, watchSnapshots } from './xstate-internals/actor-hooks.js';
import { clearTimers, trackTimers } from './xstate-internals/scheduler.js';

/**
 * Creates, wires, watches and stops the XState actors of a registry's
 * instances, and turns what the actors do into instance state and registry
 * events: a snapshot change marks the instance changed; done, error and a
 * direct `actor.stop()` become its status. Changes are reported to the
 * instance table, their one owner.
 *
 * @example
 * ```ts
 * const actors = new ActorHost({ clock, emitter, instances });
 * const actor = actors.host(instance, { input: { day } });
 * ```
 */
export class ActorHost {
  readonly #clock: Clock;
  readonly #actorOptions: Record<string, unknown>;
  /** Whether {@link #actorOptions} holds the clock only. */
  readonly #plainOptions: boolean;
  readonly #emitter: RegistryEmitter;
  readonly #instances: Pick<InstanceTable, 'changed' | 'finish' | 'starting' | 'detach'>;
  /** Set by telemetry: wraps the hosting of a restored actor (to trace it). */
  traceRestore: (<T>(instance: Instance, restore: () => T) => T) | undefined;

  constructor(options: {
    clock: Clock;
    emitter: RegistryEmitter;
    instances: Pick<InstanceTable, 'changed' | 'finish' | 'starting' | 'detach'>;
    /** The user's XState `logger`, passed to every actor. */
    logger?: ((...args: any[]) => void) | undefined;
    /** The user's XState inspector, passed to every actor. */
    inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  }) {
    this.#clock = options.clock;
    this.#emitter = options.emitter;
    this.#instances = options.instances;
    this.#actorOptions = { clock: options.clock };
    if (options.logger) this.#actorOptions.logger = options.logger;
    const userInspect = options.inspect;
    this.#plainOptions = !options.logger && !userInspect;
    if (userInspect) {
      // XState calls inspectors inside transitions: one that throws must not break the actor.
      this.#actorOptions.inspect = (event: InspectionEvent) => {
        try {
          if (typeof userInspect === 'function') userInspect(event);
          else userInspect.next?.(event);
        } catch (err) {
          this.#emitter.emit(
            'error',
            new RegistryError('LISTENER_FAILED', 'The inspect observer threw; fix the observer.', {
              cause: err,
            }),
          );
        }
      };
    }
  }

  /** Creates, wires and starts the actor of `instance`: fresh (input) or restored (snapshot + timers). */
  host(instance: Instance, from: { input?: unknown; snapshot?: unknown }): AnyActor {
    const fresh = from.snapshot === undefined;
    if (this.traceRestore && !fresh)
      return this.traceRestore(instance, () =>
        this.start(instance, this.create(instance, from), fresh),
      );
    return this.start(instance, this.create(instance, from), fresh);
  }

  /**
   * Creates and wires the actor of `instance` without starting it: XState has
   * computed its initial (or restored) state, and no action has run yet.
   */
  create(instance: Instance, from: { input?: unknown; snapshot?: unknown }): AnyActor {
    const fresh = from.snapshot === undefined;
    let options: Record<string, unknown>;
    if (this.#plainOptions) {
      // Without a logger or inspector (the usual case), a literal rather than a spread copy
      // per actor, and one with all its properties: a property added afterwards gives the
      // object a hidden class that dies with the last such object (every actor stopped),
      // and with it the optimized code of createActor and of this method.
      // No `input` key without an input (XState reads a missing one as undefined):
      // createActor spreads these options over its defaults, and each key the
      // defaults lack takes V8's slow path there (~4,000 instructions a key).
      options = !fresh
        ? { clock: this.#clock, id: instance.id, snapshot: from.snapshot }
        : from.input === undefined
          ? { clock: this.#clock, id: instance.id }
          : { clock: this.#clock, id: instance.id, input: from.input };
    } else {
      options = { ...this.#actorOptions, id: instance.id };
      if (!fresh) options.snapshot = from.snapshot;
      else if (from.input !== undefined) options.input = from.input;
    }
    const actor: AnyActor = createActor(instance.def.machine, options);
    if (!fresh) {
      const restored = actor.getSnapshot() as { status: string; error?: unknown };
      // XState does not throw on a snapshot it cannot restore: it yields status 'error'.
      if (restored.status !== 'active') {
        throw new RegistryError(
          'RESTORE_FAILED',
          restored.status === 'error'
            ? `XState could not restore the snapshot of instance '${instance.id}' (${String((restored.error as Error | undefined)?.message ?? restored.error)}); the machine may have changed incompatibly: add a version and a migration.`
            : `The record of instance '${instance.id}' is marked running but holds the snapshot of a ${restored.status} actor, which cannot be resumed.`,
          { cause: restored.error, details: { id: instance.id } },
        );
      }
    }
    instance.actor = actor;
    trackTimers(actor, this.#clock);
    // Also the root's error observer (without one, XState reports a failure as unhandled).
    watchSnapshots(
      actor,
      this.#watcher,
      instance,
      this.#failed,
      instance.def.history !== undefined,
    );
    return actor;
  }

  /** Starts an actor made by {@link create}; a `fresh` one's initial state counts as a change (to write). */
  start(instance: Instance, actor: AnyActor, fresh: boolean): AnyActor {
    // Starting re-emits the initial (or restored) snapshot: not a transition, and
    // for a restored actor not a change to persist. Done and error still count.
    this.#instances.starting(instance, true);
    try {
      actor.start();
    } finally {
      this.#instances.starting(instance, false);
    }
    if (instance.def.history !== undefined) {
      instance.history ??= new HistoryLog();
      // A fresh actor's initial state counts as its first "after"; a restored
      // one continues from where its journal left off.
      instance.history.last = (actor.getSnapshot() as { value?: unknown }).value;
    }
    if (fresh && instance.status === 'running') this.#instances.changed(instance);
    return actor;
  }

  // One watcher for every actor, told which instance it watches: no closure per actor.
  // An instance's previous actor is always stopped before the next one is hosted,
  // so every snapshot it sees comes from `instance.actor`'s tree.
  readonly #watcher = (
    instance: Instance,
    ref: AnyActorRef,
    snapshot: unknown,
    event: AnyEventObject,
  ): void => {
    const actor = instance.actor;
    if (actor) this.#onSnapshot(instance, actor, ref, snapshot, event);
  };

  // Shared, like the watcher: told which instance failed. Its actor is the one
  // hosted now: a previous actor was stopped, and a stopped actor cannot fail.
  readonly #failed = (instance: Instance, err: unknown): void => {
    const actor = instance.actor;
    if (actor) this.#onFailed(instance, actor, err);
  };

  #onSnapshot(
    instance: Instance,
    actor: AnyActor,
    ref: AnyActorRef,
    rawSnapshot: unknown,
    event: AnyEventObject,
  ): void {
    if (instance.detaching || instance.gone) return;
    if (ref !== actor) {
      this.#instances.changed(instance);
      return;
    }
    const snapshot = rawSnapshot as { status: string; output?: unknown; error?: unknown };
    switch (snapshot.status) {
      case 'active':
        if (instance.starting) return;
        this.#instances.changed(instance);
        this.#transition(instance, snapshot, event);
        return;
      case 'done':
        if (instance.status !== 'running') return;
        // XState stopped it, but not a timeout it lost track of (see clearTimers).
        clearTimers(actor);
        this.#instances.finish(instance, 'done');
        this.#transition(instance, snapshot, event);
        this.#emitter.emit('done', {
          id: instance.id,
          type: instance.type,
          output: snapshot.output,
        });
        // Finished for good: a send to it is reported, as for a stopped one.
        this.orphan(instance.id, actor);
        return;
      case 'error':
        this.#onFailed(instance, actor, snapshot.error);
        return;
      case 'stopped':
        // Someone called actor.stop() directly: the registry records what happened.
        if (instance.status !== 'running') return;
        clearTimers(actor);
        this.#instances.finish(instance, 'stopped', {
          stopReason: 'actor.stop() was called directly',
        });
        this.#emitter.emit('stopped', {
          id: instance.id,
          type: instance.type,
          reason: instance.stopReason,
        });
    }
  }

  /** Built only when someone listens: it runs on every event of every actor. */
  #transition(instance: Instance, snapshot: unknown, event: AnyEventObject): void {
    const history = instance.def.history;
    if (history && instance.history) {
      instance.history.add(
        history,
        eventSource(event) ?? 'direct',
        event,
        (snapshot as { value?: unknown }).value,
      );
    }
    if (this.#emitter.has('transition')) {
      this.#emitter.emit('transition', { id: instance.id, type: instance.type, snapshot, event });
    }
  }

  #onFailed(instance: Instance, actor: AnyActor, err: unknown): void {
    if (
      instance.actor !== actor ||
      instance.detaching ||
      instance.gone ||
      instance.status !== 'running'
    )
      return;
    const error = serializeError(err);
    clearTimers(actor);
    this.#instances.finish(instance, 'error', { error });
    this.#emitter.emit('failed', { id: instance.id, type: instance.type, error });
    this.orphan(instance.id, actor);
  }

  /** Stops the actor on the registry's behalf; `keepTimers` when it will be resumed later (close). */
  detach(instance: Instance, keepTimers: boolean): void {
    this.#instances.detach(instance, keepTimers);
    const actor = instance.actor;
    if (!actor) return;
    actor.stop();
    clearTimers(actor);
    this.orphan(instance.id, actor);
  }

  /**
   * A caller may still hold `actor` (from spawnSingleton) after the registry
   * stopped hosting it (finished, passivated, taken over, replaced, stopped, closed):
   * its sends would be dropped with only an XState warning, so they are
   * reported as `STALE_ACTOR` errors naming the ID and the fix.
   */
  orphan(id: string, actor: AnyActor): void {
    reportSendsAfterStop(actor, (event) =>
      this.#emitter.emit(
        'error',
        new RegistryError(
          'STALE_ACTOR',
          `Event '${String(event?.type)}' was sent to a stopped actor object of instance '${id}' (finished, passivated, taken over, replaced, stopped or closed) and was not delivered. Hold registry.actor(type, id) instead, or call registry.send(id, event).`,
          { details: { id, eventType: String(event?.type) } },
        ),
      ),
    );
  }

  /**
   * The stand-in `spawnSingleton` gives back for an instance another process
   * hosts: its `send` goes through `send` (the registry's, which mails it to
   * the owner), one after the other in call order; a send that fails is
   * reported as an `error` event naming the instance, since `send` returns nothing.
   */
  forward(id: string, actor: AnyActor, send: (event: AnyEventObject) => Promise<void>): void {
    reportSendsAfterStop(actor, (event) => {
      send(event).catch((err: unknown) =>
        this.#emitter.emit('error', forwardFailed(id, event, err)),
      );
    });
  }

  /** An actor object for an instance that is not running: the live one if we have it, else an inert one built from its last snapshot. */
  materialize(instance: Instance): AnyActor {
    if (instance.actor) return instance.actor;
    const snapshot = instance.snapshot() as { status?: unknown } | undefined;
    const actor = createActor(instance.def.machine, {
      id: instance.id,
      // A stopped instance's record holds the snapshot it had while active:
      // its actor said 'active' after a restart, and 'stopped' before.
      snapshot: (instance.status === 'stopped' && snapshot
        ? { ...snapshot, status: 'stopped' }
        : snapshot) as never,
      clock: this.#clock,
    });
    actor.stop();
    this.orphan(instance.id, actor);
    instance.actor = actor;
    return actor;
  }
}

/** Why a send through a forwarding stand-in was not delivered, naming the instance. */
function forwardFailed(id: string, event: AnyEventObject, err: unknown): RegistryError {
  const what = `Event '${String(event?.type)}' sent through the actor object of instance '${id}' (hosted by another process) was not delivered`;
  if (err instanceof RegistryError)
    return new RegistryError(err.code, `${what}: ${err.message}`, {
      cause: err,
      details: err.details as never,
    });
  return new RegistryError(
    'PERSIST_FAILED',
    `${what}; send it again with registry.send(id, event).`,
    {
      cause: err,
      details: { id },
    },
  );
}
