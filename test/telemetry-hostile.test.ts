import type { Meter, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import type { Registry } from '../src/index.js';
import { createTestRegistry } from '../src/testing/index.js';
import { counter } from './fixtures.js';

const machines = { counter };
const closing: Array<Registry<any>> = [];
afterEach(async () => {
  await Promise.allSettled(closing.splice(0).map((r) => r.close()));
});

const boom = () => {
  throw new Error('telemetry exploded');
};
/** Every instrument throws on use; gauges accept callbacks (run only by a reader). */
const throwingMeter = {
  createCounter: () => ({ add: boom }),
  createHistogram: () => ({ record: boom }),
  createObservableGauge: () => ({ addCallback: () => {} }),
} as unknown as Meter;
const meterProvider = { getMeter: () => throwingMeter } as unknown as MeterProvider;
/** A span whose every method throws. */
const throwingSpan = new Proxy({}, { get: () => boom }) as Span;
const tracers: Record<string, Tracer> = {
  'startActiveSpan throws': { startActiveSpan: boom, startSpan: boom } as unknown as Tracer,
  'the span throws': {
    startActiveSpan: (_n: string, _o: unknown, fn: (s: Span) => unknown) => fn(throwingSpan),
    startSpan: () => throwingSpan,
  } as unknown as Tracer,
};

describe('telemetry: a provider that throws never breaks spawn, send, persist or restore', () => {
  for (const [name, tracer] of Object.entries(tracers)) {
    it(`${name}, and every counter and histogram throws`, async () => {
      const tracerProvider = { getTracer: () => tracer } as unknown as TracerProvider;
      let r = await createTestRegistry({ machines, telemetry: { meterProvider, tracerProvider } });
      closing.push(r);
      await r.spawnSingleton('counter', 'a');
      await r.send('a', { type: 'INC' });
      await r.flush();
      await expect(r.getStatus('a')).resolves.toMatchObject({
        status: 'running',
        context: { count: 1 },
      });
      r = await r.restart();
      closing.push(r);
      await r.send('a', { type: 'INC' });
      await r.flush();
      expect((await r.getStatus('a'))?.context).toMatchObject({ count: 2 });
    });
  }

  it('a provider whose getMeter/getTracer throws leaves the registry working, without telemetry', async () => {
    const bad = { getMeter: boom, getTracer: boom } as unknown as MeterProvider & TracerProvider;
    const r = await createTestRegistry({
      machines,
      telemetry: { meterProvider: bad, tracerProvider: bad },
    });
    closing.push(r);
    await r.spawnSingleton('counter', 'a');
    await r.send('a', { type: 'INC' });
    await r.flush();
    expect((await r.getStatus('a'))?.context).toMatchObject({ count: 1 });
  });
});
