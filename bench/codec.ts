/**
 * PLUG-IN POINT for the exact-state encoding rows (issue 13: "encode and decode
 * of a plain-JSON state >= 0.9x JSON.stringify/JSON.parse", and the same for a
 * state holding Dates and Maps, quoted).
 *
 * {@link loadCodec} finds the registry's record codec in the built package. It
 * looks for `encodeRecord(record): string` and `parseRecord(text)` exported by
 * the package, its ./testing entry (where main has them now) or dist/record.js. If the
 * codec lands under other names, change only {@link loadCodec}; until then the
 * rows print "n/a (no codec in dist/)".
 */
import { createRegistry, MemoryStore } from 'xstate-registry';
import { counter } from './machine.js';

/** The registry's record codec, as the benchmark drives it. */
export interface Codec {
  /** Where it was found, for the table's header. */
  name: string;
  encode: (record: object) => string;
  decode: (text: string) => unknown;
}

/** A record to encode, and its plain-JSON form for the `JSON.stringify`/`JSON.parse` baseline. */
export interface CodecSample {
  record: object;
  plain: object;
}

/** The codec of the built package, or undefined when it exports none. */
export async function loadCodec(): Promise<Codec | undefined> {
  const index = import.meta.resolve('xstate-registry');
  const places = [
    index,
    new URL('./testing/index.js', index).href,
    new URL('./record.js', index).href,
  ];
  for (const url of places) {
    const mod = (await import(url).catch(() => undefined)) as Record<string, unknown> | undefined;
    const encode = mod?.encodeRecord;
    const decode = mod?.parseRecord;
    if (typeof encode === 'function' && typeof decode === 'function')
      return {
        name: `encodeRecord/parseRecord of ${url.slice(url.lastIndexOf('/dist/') + 1)}`,
        encode: encode as Codec['encode'],
        decode: decode as Codec['decode'],
      };
  }
  return undefined;
}

/** How many items the list sample's context holds. */
export const LIST_ITEMS = 1_000;

/**
 * Records of the benchmark's counter as the registry writes them: one with a
 * plain-JSON context, one whose context holds Dates and Maps (with their plain
 * form: ISO strings and entry arrays, what a hand-written encoding would
 * store), and one whose plain-JSON context holds a list of {@link LIST_ITEMS}
 * small objects, as a cart, a queue or a log would.
 */
export async function codecSamples(): Promise<{
  plain: CodecSample;
  rich: CodecSample;
  /** Built when first read: the instruction counter never reads it, and 1,000 more live objects would change when its rounds collect. */
  readonly list: CodecSample;
}> {
  const store = new MemoryStore();
  const r = createRegistry({ machines: { counter }, store });
  await r.start();
  await r.spawnSingleton('counter', 'sample');
  await r.send('sample', { type: 'INC' });
  await r.close();
  const text = store.peek('sample');
  if (text === undefined) throw new Error('the sample record was not written');
  const record = JSON.parse(text) as { snapshot: { context: Record<string, unknown> } };
  const at = new Date(Date.UTC(2026, 10, 27, 20, 0, 0));
  const seen = new Map(
    Array.from({ length: 5 }, (_, i) => [`user-${i}`, new Date(at.getTime() + i * 60_000)]),
  );
  const richContext = { ...record.snapshot.context, at, seen };
  const plainContext = {
    ...record.snapshot.context,
    at: at.toISOString(),
    seen: [...seen].map(([k, d]) => [k, d.toISOString()]),
  };
  const listContext = () => ({
    ...record.snapshot.context,
    items: Array.from({ length: LIST_ITEMS }, (_, i) => ({
      sku: `item-${i}`,
      qty: i % 7,
      done: i % 2 === 0,
    })),
  });
  let list: CodecSample | undefined;
  const withContext = (context: object) => ({
    ...record,
    snapshot: { ...record.snapshot, context },
  });
  return {
    plain: { record, plain: record },
    rich: { record: withContext(richContext), plain: withContext(plainContext) },
    get list() {
      if (!list) {
        const sample = withContext(listContext());
        list = { record: sample, plain: sample };
      }
      return list;
    },
  };
}
