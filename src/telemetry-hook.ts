import type { RegistryParts } from './registry-parts.js';
import {
  attachTelemetry,
  loadTelemetry,
  type RegistryTelemetry,
  type SpanName,
} from './telemetry.js';
import type { TelemetryOptions } from './telemetry-options.js';

/**
 * A registry's telemetry slot: the `telemetry` option, loaded once at the first
 * `start()` and hooked into the registry's parts. Until then, and for good when
 * the option is off or `@opentelemetry/api` is not installed, {@link span}
 * just runs its function, so the hot paths pay one field read.
 *
 * @example
 * ```ts
 * const telemetry = new TelemetryHook(options.telemetry);
 * if (telemetry.pending) await telemetry.load(parts);
 * await telemetry.span('spawn', id, type, () => ensure(parts, type, id, {}));
 * ```
 */
export class TelemetryHook {
  readonly #option: boolean | TelemetryOptions | undefined;
  #loaded = false;
  /** Set by {@link load} when telemetry was asked for and `@opentelemetry/api` is installed. */
  #telemetry: RegistryTelemetry | undefined;

  constructor(option: boolean | TelemetryOptions | undefined) {
    this.#option = option;
  }

  /**
   * The hook for `option`: with telemetry off, one shared hook that never loads.
   * Shared, so that its hidden class outlives any one registry: the optimized
   * code of every traced call checks it, and a class whose last object died
   * with its registry would throw that code away at the next registry's start.
   *
   * @example
   * ```ts
   * const telemetry = TelemetryHook.for(options.telemetry);
   * ```
   */
  static for(option: boolean | TelemetryOptions | undefined): TelemetryHook {
    return option ? new TelemetryHook(option) : OFF;
  }

  /** Whether telemetry was asked for and is not loaded yet. */
  get pending(): boolean {
    return Boolean(this.#option) && !this.#loaded;
  }

  /** Whether spans are being recorded. */
  get active(): boolean {
    return this.#telemetry !== undefined;
  }

  /** Loads OpenTelemetry once, if it was asked for, and hooks it in. */
  async load(parts: RegistryParts): Promise<void> {
    this.#loaded = true;
    const t = await loadTelemetry(this.#option, {
      instances: () => parts.instances.values(),
      backlog: () => parts.persister.backlog,
    });
    if (!t) return;
    this.#telemetry = t;
    attachTelemetry(t, parts);
  }

  /** Runs `fn` in a span named after the operation when telemetry is on; otherwise just runs it. */
  span<T>(name: SpanName, id: string, type: string | undefined, fn: () => T): T {
    const t = this.#telemetry;
    return t ? t.span(name, id, type, fn) : fn();
  }
}

/** The hook of every registry without telemetry (see {@link TelemetryHook.for}). */
const OFF = new TelemetryHook(undefined);
