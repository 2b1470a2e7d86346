import type { AnyActorRef, AnyEventObject } from 'xstate';

/**
 * One inspection event as XState's actor system hands it to its inspection
 * function (the public `InspectionEvent`, as far as the watch reads it).
 *
 * @example
 * ```ts
 * const sink: InspectionSink = (event) => console.log(event.type);
 * ```
 */
export type InspectionSink = (event: {
  type: string;
  actorRef?: AnyActorRef;
  snapshot?: unknown;
  event?: AnyEventObject;
}) => void;

/**
 * Called for every snapshot update of any actor in a root's tree (root or
 * child), with the context given to `watchSnapshots`.
 *
 * @example
 * ```ts
 * const watcher: SnapshotWatcher<Instance> = (instance, ref, snapshot) => changed(instance, ref);
 * ```
 */
export type SnapshotWatcher<C> = (
  context: C,
  actorRef: AnyActorRef,
  snapshot: unknown,
  event: AnyEventObject,
) => void;

/**
 * What a watched system holds: the watcher and its context, and XState's own
 * inspection function. It is also the root's error observer when asked for one
 * (see `watchSnapshots` in xstate-internals.ts), so watching an actor
 * allocates this one object.
 *
 * @example
 * ```ts
 * const watch = new Watch(watcher, instance, original, actor, (instance, err) => fail(instance, err));
 * ```
 */
export class Watch<C> {
  readonly watcher: SnapshotWatcher<C>;
  readonly context: C;
  readonly original: InspectionSink;
  readonly root: AnyActorRef;
  readonly failed: ((context: C, error: unknown) => void) | undefined;
  /**
   * The root's error observer: XState calls `observer.error` as a plain
   * function, not as a method, so it is bound (a bound function is the
   * smallest per-actor function: no context object).
   */
  readonly error: ((err: unknown) => void) | undefined;

  constructor(
    watcher: SnapshotWatcher<C>,
    context: C,
    original: InspectionSink,
    root: AnyActorRef,
    failed: ((context: C, error: unknown) => void) | undefined,
  ) {
    this.watcher = watcher;
    this.context = context;
    this.original = original;
    this.root = root;
    this.failed = failed;
    this.error = failed ? reportFailure.bind(this as Watch<unknown>) : undefined;
  }
}

function reportFailure(this: Watch<unknown>, err: unknown): void {
  this.failed?.(this.context, err);
}
