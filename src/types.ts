import type {
  Actor,
  ContextFrom,
  EventFromLogic,
  InputFrom,
  OutputFrom,
  SnapshotFrom,
} from 'xstate';
import type { MachineMap, MachineOf } from './machines.js';
import type { InstanceStatus } from './status.js';

/**
 * The type names of a registry's machines map.
 *
 * @example
 * ```ts
 * type Names = TypeName<{ job: typeof job; order: typeof order }>; // 'job' | 'order'
 * ```
 */
export type TypeName<M extends MachineMap> = keyof M & string;

/**
 * The machine registered under type name `K`.
 *
 * @example
 * ```ts
 * type Job = MachineFor<typeof machines, 'job'>; // typeof jobMachine
 * ```
 */
export type MachineFor<M extends MachineMap, K extends keyof M> = MachineOf<M[K]>;

/**
 * The events the machine of type `K` accepts; with no `K`, those any of them accepts.
 *
 * @example
 * ```ts
 * const e: EventOf<typeof machines, 'job'> = { type: 'CANCEL' };
 * ```
 */
export type EventOf<M extends MachineMap, K extends keyof M = TypeName<M>> = K extends keyof M
  ? EventFromLogic<MachineFor<M, K>>
  : never;

/**
 * The XState actor of type `K`, as `spawnSingleton` returns it.
 *
 * @example
 * ```ts
 * const actor: ActorOf<typeof machines, 'job'> = await registry.spawnSingleton('job', 'j1');
 * ```
 */
export type ActorOf<M extends MachineMap, K extends keyof M> = Actor<MachineFor<M, K>>;

/**
 * The input of the machine of type `K`.
 *
 * @example
 * ```ts
 * const input: InputOf<typeof machines, 'job'> = { day: '2026-11-27' };
 * ```
 */
export type InputOf<M extends MachineMap, K extends keyof M> = InputFrom<MachineFor<M, K>>;

/**
 * The output of the machine of type `K`.
 *
 * @example
 * ```ts
 * const out: OutputOf<typeof machines, 'job'> = (await registry.waitFor('j1', 'done', { type: 'job' })).output!;
 * ```
 */
export type OutputOf<M extends MachineMap, K extends keyof M> = OutputFrom<MachineFor<M, K>>;

/**
 * What a value of type `T` becomes in a status, which holds JSON copies (see
 * `getStatus`): a `Date` its ISO string, a `BigInt` its digits, a `Map` or
 * `Set` its entries, functions and `undefined` fields gone, and plain data as
 * it was. So a status's `context.when.getTime()` does not compile where it
 * would throw.
 *
 * @example
 * ```ts
 * type Shown = JsonCopy<{ at: Date; seen: Map<string, number>; n: bigint }>;
 * // { at: string; seen: [string, number][]; n: string }
 * ```
 */
export type JsonCopy<T> = 0 extends 1 & T
  ? T // any stays any
  : T extends string | number | boolean | null | undefined
    ? T
    : T extends bigint | Date
      ? string
      : T extends Map<infer K, infer V>
        ? Array<[JsonCopy<K>, JsonCopy<V>]>
        : T extends Set<infer V>
          ? JsonCopy<V>[]
          : T extends (...args: never[]) => unknown
            ? undefined
            : T extends readonly unknown[]
              ? { -readonly [I in keyof T]: JsonCopy<T[I]> }
              : T extends RegExp | ArrayBuffer | ArrayBufferView | Error
                ? Record<string, unknown>
                : T extends object
                  ? { -readonly [P in keyof T as P extends symbol ? never : P]: JsonCopy<T[P]> }
                  : unknown;

/**
 * The status of an instance of type `K`, with its context and output typed from
 * the machine; with no `K` (or a union), a union discriminated on `type`.
 * `context` and `output` are JSON copies, typed as such ({@link JsonCopy}): a
 * `Date` in them arrives as a string.
 *
 * @example
 * ```ts
 * const s = await registry.getStatus('j1');
 * if (s?.type === 'job') console.log(s.context.day);
 * ```
 */
export type StatusOf<M extends MachineMap, K extends keyof M = TypeName<M>> =
  K extends TypeName<M>
    ? InstanceStatus<K, JsonCopy<ContextFrom<MachineFor<M, K>>>, JsonCopy<OutputOf<M, K>>>
    : never;

/**
 * Whether an input may be left out: XState's own rule for `createActor`
 * (`undefined` must be a valid input). A machine without `types.input` takes
 * anything; `setup({ types: { input: {} as X | undefined } })` loses the
 * `undefined` to inference, so declare an optional input as `X | void`.
 */
type InputOptional<TInput> = [TInput] extends [never]
  ? true
  : undefined extends TInput
    ? true
    : false;

/**
 * `{ input }`, required exactly when the machine of type `K` requires an input.
 *
 * @example
 * ```ts
 * type O = InputOption<typeof machines, 'job'>; // { input: { day: string } }
 * ```
 */
export type InputOption<M extends MachineMap, K extends keyof M> =
  InputOptional<InputOf<M, K>> extends true ? { input?: InputOf<M, K> } : { input: InputOf<M, K> };

/**
 * The trailing options parameter of a creating call: optional when the
 * machine needs no input, required (with `input`) when it does.
 *
 * @example
 * ```ts
 * function create<K extends TypeName<M>>(type: K, ...[options]: CreateArgs<M, K, object>) {}
 * ```
 */
export type CreateArgs<M extends MachineMap, K extends keyof M, TOptions> =
  InputOptional<InputOf<M, K>> extends true
    ? [options?: TOptions & InputOption<M, K>]
    : [options: TOptions & InputOption<M, K>];

/**
 * Narrows a registry call to one type name: the registry checks that the
 * instance has that type (`TYPE_MISMATCH` otherwise), and the result is typed
 * from its machine.
 *
 * @example
 * ```ts
 * const s = await registry.getStatus('j1', { type: 'job' }); // StatusOf<M, 'job'> | undefined
 * ```
 */
export interface TypeOption<K extends string> {
  type: K;
}

/**
 * The XState snapshot of the machine of type `K`.
 *
 * @example
 * ```ts
 * registry.on('transition', (e) => { if (e.type === 'job') e.snapshot.context.day; });
 * ```
 */
export type SnapshotOf<M extends MachineMap, K extends keyof M> = SnapshotFrom<MachineFor<M, K>>;
