/**
 * The `telemetry` option of `createRegistry`: `true` uses the globally
 * registered OpenTelemetry providers; or pass your own. Off when absent.
 *
 * @example
 * ```ts
 * createRegistry({ machines, telemetry: { meterProvider: new MeterProvider({ readers: [exporter] }) } });
 * ```
 */
export interface TelemetryOptions {
  /** An OpenTelemetry `MeterProvider`; default the global one (`metrics.getMeterProvider()`). */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /** An OpenTelemetry `TracerProvider`; default the global one (`trace.getTracerProvider()`). */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
}
