import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, MemoryStore, type Registry } from '../src/index.js';
import { loadTelemetry } from '../src/telemetry.js';
import { TestClock as Clock, createTestRegistry } from '../src/testing/index.js';
import { counter } from './fixtures.js';

/** Collects on demand (`collect()`), as a Prometheus scrape would. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

function otel() {
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const metrics = async () => {
    const { resourceMetrics } = await reader.collect();
    const all: MetricData[] = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    return (name: string) =>
      (all.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as DataPoint<unknown>[];
  };
  return { meterProvider, tracerProvider, spans, metrics };
}

const machines = { counter };
const closing: Array<Registry<any>> = [];
afterEach(async () => {
  await Promise.allSettled(closing.splice(0).map((r) => r.close()));
});

describe('telemetry through the OpenTelemetry API', () => {
  it('records transitions, instances by status and type, persist latency and backlog', async () => {
    const o = otel();
    const r = await createTestRegistry({ machines, telemetry: o });
    closing.push(r);
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    await r.send('a', { type: 'INC' });
    await r.send('a', { type: 'INC' });
    await r.send('b', { type: 'FINISH' });
    await r.flush();
    const m = await o.metrics();
    expect(m('xstate_registry.transitions').map((p) => [p.attributes, p.value])).toEqual([
      [{ 'xstate_registry.instance.type': 'counter' }, 3],
    ]);
    const instances = m('xstate_registry.instances').map((p) => [
      p.attributes['xstate_registry.status'],
      p.attributes['xstate_registry.instance.type'],
      p.value,
    ]);
    expect(instances.sort()).toEqual([
      ['done', 'counter', 1],
      ['running', 'counter', 1],
    ]);
    const persist = m('xstate_registry.persist.duration');
    expect(persist).toHaveLength(1);
    expect(persist[0]?.attributes).toEqual({
      'xstate_registry.instance.type': 'counter',
      outcome: 'ok',
    });
    expect((persist[0]?.value as { count: number } | undefined)?.count).toBeGreaterThanOrEqual(2);
    expect(m('xstate_registry.write_backlog').map((p) => p.value)).toEqual([0]);
  });

  it('traces spawn, send, persist and restore with the instance ID and type', async () => {
    const o = otel();
    const r = await createTestRegistry({ machines, telemetry: o });
    closing.push(r);
    await r.spawnSingleton('counter', 'a');
    await r.send('a', { type: 'INC' });
    await r.flush();
    await expect(r.send('nope', { type: 'INC' })).rejects.toMatchObject({
      code: 'INSTANCE_NOT_FOUND',
    });
    const again = await r.restart();
    closing.push(again);
    const spans = o.spans.getFinishedSpans();
    const seen = spans.map((s) => [s.name, s.attributes['xstate_registry.instance.id']]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['xstate_registry.spawn', 'a'],
        ['xstate_registry.send', 'a'],
        ['xstate_registry.persist', 'a'],
        ['xstate_registry.send', 'nope'],
        ['xstate_registry.restore', 'a'],
      ]),
    );
    const spawn = spans.find((s) => s.name === 'xstate_registry.spawn');
    expect(spawn?.attributes['xstate_registry.instance.type']).toBe('counter');
    const failed = spans.find(
      (s) =>
        s.name === 'xstate_registry.send' && s.attributes['xstate_registry.instance.id'] === 'nope',
    );
    expect(failed?.status.code).toBe(2); // SpanStatusCode.ERROR
  });

  it('counts passivations, activations and quarantined records', async () => {
    const o = otel();
    const store = new MemoryStore();
    const clock = new Clock(Date.UTC(2026, 0, 1));
    const r = createRegistry({ machines, store, clock, telemetry: o, idleTimeoutMs: 1000 });
    closing.push(r);
    await r.start();
    await r.spawnSingleton('counter', 'a');
    clock.increment(1000);
    await new Promise((resolve) => setImmediate(resolve));
    await r.flush();
    await r.send('a', { type: 'INC' });
    await r.close();
    await store.open();
    await store.write('bad', '{ not json');
    await store.close();
    const o2 = otel();
    const r2 = createRegistry({ machines, store, clock, telemetry: o2 });
    closing.push(r2);
    await r2.start();
    const m = await o.metrics();
    expect(m('xstate_registry.passivations').map((p) => p.value)).toEqual([1]);
    expect(m('xstate_registry.activations').map((p) => p.value)).toEqual([1]);
    expect((await o2.metrics())('xstate_registry.quarantined_records').map((p) => p.value)).toEqual(
      [1],
    );
  });

  it('is off without the option, and a no-op when the API cannot be loaded', async () => {
    const o = otel();
    const r = await createTestRegistry({ machines });
    closing.push(r);
    await r.spawnSingleton('counter', 'a');
    await r.send('a', { type: 'INC' });
    expect(o.spans.getFinishedSpans()).toEqual([]);
    const missing = Object.assign(new Error("Cannot find package '@opentelemetry/api'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const source = { instances: () => [], backlog: () => 0 };
    expect(await loadTelemetry(true, source, () => Promise.reject(missing))).toBeUndefined();
    expect(await loadTelemetry(undefined, source)).toBeUndefined();
    expect(await loadTelemetry(true, source)).toBeDefined();
  });
});
