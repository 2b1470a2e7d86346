import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { counter } from '../fixtures.js';
import { freshTable, noPg, pgRegistries } from './helpers.js';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const { registryOn } = pgRegistries();
const machines = { counter };

describe.skipIf(noPg)('telemetry with a PostgreSQL store', () => {
  it('counts an instance adopted from another owner as a takeover', async () => {
    const table = freshTable();
    const a = registryOn(table, machines).registry;
    await a.start();
    await a.spawnSingleton('counter', 'c');
    await a.flush();
    const reader = new PullReader();
    const b = registryOn(table, machines, {
      telemetry: { meterProvider: new MeterProvider({ readers: [reader] }) },
    }).registry;
    await b.start();
    await a.close(); // releases its lease
    await b.send('c', { type: 'INC' });
    const { resourceMetrics } = await reader.collect();
    const takeovers = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'xstate_registry.takeovers');
    expect(takeovers?.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ 'xstate_registry.instance.type': 'counter' }, 1],
    ]);
  });
});
