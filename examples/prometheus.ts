/**
 * Exports a registry's metrics to Prometheus: the registry records through the
 * OpenTelemetry API, and the OpenTelemetry Prometheus exporter serves them at
 * http://127.0.0.1:9464/metrics for Prometheus to scrape.
 *
 *   npm install @opentelemetry/api @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus
 *   node --import tsx examples/prometheus.ts
 *   curl -s localhost:9464/metrics | grep xstate_registry
 *
 * Environment: METRICS_PORT (default 9464; 0 picks a free port), DATA_DIR (default ./data).
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createRegistry, FileStore } from '../src/index.js';
import { demoMachines } from './machines.js';

const exporter = new PrometheusExporter({
  host: '127.0.0.1',
  port: Number(process.env.METRICS_PORT ?? 9464),
});
const meterProvider = new MeterProvider({ readers: [exporter] });

const registry = createRegistry({
  machines: demoMachines,
  store: new FileStore({ dir: process.env.DATA_DIR ?? './data' }),
  // Or `telemetry: true` after registering the MeterProvider globally
  // (metrics.setGlobalMeterProvider(meterProvider)).
  telemetry: { meterProvider },
});
registry.on('error', (err) => console.error(`[registry] ${err.code}: ${err.message}`));
await registry.start();

// Something to count: a heartbeat that ticks by itself.
await registry.spawnSingleton('heartbeat', 'metrics-demo');
console.log('Metrics at http://127.0.0.1:9464/metrics (or METRICS_PORT)');

const stop = async () => {
  await registry.close();
  await meterProvider.shutdown();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
