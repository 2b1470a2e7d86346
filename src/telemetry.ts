/**
 * Metrics and traces through the OpenTelemetry API, an optional peer
 * dependency: it is imported here, dynamically, only when a registry is
 * created with the `telemetry` option. When the option is off nothing of it
 * is loaded; when `@opentelemetry/api` is not installed, every hook stays
 * unset, so neither costs anything on the paths that check for it.
 */
import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import type { Instance } from './instance.js';
import type { RegistryParts } from './registry-parts.js';
import type { TelemetryOptions } from './telemetry-options.js';

/** What the span of an operation is named after (`xstate_registry.<name>`). */
export type SpanName = 'spawn' | 'send' | 'persist' | 'restore';

/** What the telemetry observes of a registry, read when metrics are collected. */
export interface TelemetrySource {
  instances(): Iterable<Instance>;
  backlog(): number;
}

const NAME = 'xstate-registry';
const ID = 'xstate_registry.instance.id';
const TYPE = 'xstate_registry.instance.type';

type OtelApi = typeof import('@opentelemetry/api');

/**
 * A registry's instruments and tracer. Internal: made by {@link loadTelemetry}.
 */
export class RegistryTelemetry {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;
  readonly #transitions: Counter;
  readonly #persistMs: Histogram;
  readonly #passivations: Counter;
  readonly #activations: Counter;
  readonly #takeovers: Counter;
  readonly #fenced: Counter;
  readonly #quarantined: Counter;

  constructor(api: OtelApi, meter: Meter, tracer: Tracer, source: TelemetrySource) {
    this.#api = api;
    this.#tracer = tracer;
    this.#transitions = meter.createCounter('xstate_registry.transitions', {
      description: 'Transitions of root actors.',
    });
    this.#persistMs = meter.createHistogram('xstate_registry.persist.duration', {
      description: 'Time to write one record to the store.',
      unit: 'ms',
    });
    this.#passivations = meter.createCounter('xstate_registry.passivations', {
      description: 'Idle instances unloaded to the store.',
    });
    this.#activations = meter.createCounter('xstate_registry.activations', {
      description: 'Passive instances loaded again.',
    });
    this.#takeovers = meter.createCounter('xstate_registry.takeovers', {
      description:
        'Instances adopted from the cluster store (another owner released or lost them).',
    });
    this.#fenced = meter.createCounter('xstate_registry.fenced_writes', {
      description: 'Writes refused because another process owns the instance now.',
    });
    this.#quarantined = meter.createCounter('xstate_registry.quarantined_records', {
      description: 'Stored records moved aside because they could not be loaded.',
    });
    meter
      .createObservableGauge('xstate_registry.instances', {
        description: 'Instances in this process, by status (passive ones as "passive") and type.',
      })
      .addCallback((result) => {
        const counts = new Map<string, { status: string; type: string; n: number }>();
        for (const instance of source.instances()) {
          const status = instance.passive ? 'passive' : instance.status;
          const key = `${status}\u0000${instance.type}`;
          const entry = counts.get(key) ?? { status, type: instance.type, n: 0 };
          entry.n++;
          counts.set(key, entry);
        }
        for (const { status, type, n } of counts.values())
          result.observe(n, { 'xstate_registry.status': status, [TYPE]: type });
      });
    meter
      .createObservableGauge('xstate_registry.write_backlog', {
        description: 'Instances whose latest change is not yet durable.',
      })
      .addCallback((result) => result.observe(source.backlog()));
  }

  /**
   * Runs `fn` (sync or async) inside a span named after the operation, with the
   * instance's ID and type. A tracer or span that throws is ignored: `fn` runs
   * exactly once and its own result or error is what the caller gets.
   */
  span<T>(name: SpanName, id: string, type: string | undefined, fn: () => T): T {
    const attributes: Attributes = { [ID]: id };
    if (type !== undefined) attributes[TYPE] = type;
    let ran: { out: T } | { err: unknown } | undefined;
    try {
      return this.#tracer.startActiveSpan(`xstate_registry.${name}`, { attributes }, (span) => {
        const fail = (err: unknown) =>
          quietly(() => {
            span.recordException(err as Error);
            span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: String(err) });
            span.end();
          });
        try {
          const out = fn();
          ran = {
            out:
              out instanceof Promise
                ? (out.then(
                    (value) => {
                      quietly(() => span.end());
                      return value;
                    },
                    (err) => {
                      fail(err);
                      throw err;
                    },
                  ) as T)
                : out,
          };
        } catch (err) {
          ran = { err };
          fail(err);
          throw err;
        }
        if (!((ran.out as unknown) instanceof Promise)) quietly(() => span.end());
        return ran.out;
      });
    } catch {
      // The tracer failed before calling back (run fn without a span) or after (keep fn's outcome).
      if (ran === undefined) return fn();
      if ('err' in ran) throw ran.err;
      return ran.out;
    }
  }

  /** Times one store write of `instance` in a `persist` span and the latency histogram. */
  async persist(instance: Instance, write: () => Promise<void>, now: () => number): Promise<void> {
    const started = now();
    let outcome = 'ok';
    try {
      await this.span('persist', instance.id, instance.type, write);
    } catch (err) {
      outcome = 'failed';
      throw err;
    } finally {
      quietly(() => this.#persistMs.record(now() - started, { [TYPE]: instance.type, outcome }));
    }
  }

  transition(type: string): void {
    quietly(() => this.#transitions.add(1, { [TYPE]: type }));
  }
  passivated(type: string): void {
    quietly(() => this.#passivations.add(1, { [TYPE]: type }));
  }
  activated(type: string): void {
    quietly(() => this.#activations.add(1, { [TYPE]: type }));
  }
  tookOver(type: string): void {
    quietly(() => this.#takeovers.add(1, { [TYPE]: type }));
  }
  fenced(): void {
    quietly(() => this.#fenced.add(1));
  }
  quarantined(): void {
    quietly(() => this.#quarantined.add(1));
  }
}

/**
 * Loads `@opentelemetry/api` and builds a registry's telemetry from the given
 * or global providers; `undefined` when the option is off or the API is not
 * installed (then everything stays a no-op). `load` exists for tests.
 *
 * @example
 * ```ts
 * const telemetry = await loadTelemetry(true, { instances: () => table.values(), backlog: () => 0 });
 * ```
 */
export async function loadTelemetry(
  option: boolean | TelemetryOptions | undefined,
  source: TelemetrySource,
  load: () => Promise<OtelApi> = () => import('@opentelemetry/api'),
): Promise<RegistryTelemetry | undefined> {
  if (!option) return undefined;
  let api: OtelApi;
  try {
    api = await load();
  } catch {
    return undefined; // the optional peer is not installed
  }
  const given = option === true ? {} : option;
  try {
    const meterProvider = (given.meterProvider ?? api.metrics.getMeterProvider()) as MeterProvider;
    const tracerProvider = (given.tracerProvider ??
      api.trace.getTracerProvider()) as TracerProvider;
    return new RegistryTelemetry(
      api,
      meterProvider.getMeter(NAME),
      tracerProvider.getTracer(NAME),
      source,
    );
  } catch {
    return undefined; // a provider that cannot make its meter or tracer: no telemetry, the registry still runs
  }
}

/** Telemetry is an observer: a provider that throws must never fail the operation it watches. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {}
}

/**
 * Hooks `telemetry` into a registry's parts: store writes are timed and traced,
 * restores traced, and lifecycle events counted.
 *
 * @example
 * ```ts
 * const telemetry = await loadTelemetry(true, source);
 * if (telemetry) attachTelemetry(telemetry, parts);
 * ```
 */
export function attachTelemetry(t: RegistryTelemetry, parts: RegistryParts): void {
  parts.persister.observeWrite = (instance, write) =>
    t.persist(instance, write, () => performance.now());
  parts.actors.traceRestore = (instance, restore) =>
    t.span('restore', instance.id, instance.type, restore);
  parts.persister.onFailed((err) => {
    if (err.code === 'FENCED') t.fenced();
  });
  parts.emitter.on('transition', (e) => t.transition(e.type));
  parts.emitter.on('passivated', (e) => t.passivated(e.type));
  parts.emitter.on('activated', (e) => t.activated(e.type));
  parts.emitter.on('quarantined', () => t.quarantined());
  // With a cluster store every restore after start is an adoption from another owner.
  if (parts.cluster) parts.emitter.on('restored', (e) => t.tookOver(e.type));
}
