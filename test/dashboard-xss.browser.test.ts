import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createRegistry, MemoryStore, type Registry } from '../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`CI must provide Chromium at ${CHROMIUM}`);

/** Markup that runs script if it is ever parsed as HTML rather than shown as text. */
const XSS = `<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>'"`;

const note = setup({
  types: {
    context: {} as { note: unknown },
    events: {} as { type: 'NOTE'; note: unknown } | { type: 'FAIL'; message: string },
  },
}).createMachine({
  id: 'note',
  context: { note: null },
  on: {
    NOTE: { actions: assign({ note: ({ event }) => event.note }) },
    FAIL: {
      actions: ({ event }) => {
        throw new Error(event.message);
      },
    },
  },
});
const machines = { [XSS]: note } as unknown as { note: typeof note };

describe.skipIf(!haveBrowser)('dashboard: hostile data shows as text, never runs', () => {
  let registry: Registry<typeof machines>;
  let server: Server;
  let other: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const store = new MemoryStore();
    // Set aside at start: a type no machine has, named by markup (the reason quotes it).
    store.inject(
      `q${XSS}`,
      JSON.stringify({ id: `q${XSS}`, format: 'xstate-registry/2', type: `gone${XSS}` }),
    );
    registry = createRegistry({ machines, store, history: {} });
    registry.on('error', () => {});
    await registry.start();
    const type = XSS as 'note';
    await registry.spawnSingleton(type, XSS);
    await registry.send(XSS, { type: 'NOTE', note: { [XSS]: XSS } });
    await registry.stop(XSS, XSS);
    await registry.spawnSingleton(type, `e${XSS}`);
    await registry.send(`e${XSS}`, { type: 'FAIL', message: XSS }).catch(() => {});
    await registry.spawnSingleton(type, `csrf${XSS}`);
    server = createServer(toNodeListener(createHttpHandler(registry)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Another origin (another port): a page an operator might have open.
    other = createServer((_req, res) => res.end('<!doctype html><title>other</title>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of [server, other]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
    await registry?.close();
  });

  it('the list, the quarantine and both instance pages show the markup literally', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator(`#rows tr[data-id="e${XSS.replace(/"/g, '\\"')}"]`).waitFor();
    await page.locator('#quarantined tr[data-key]').waitFor();
    expect(await page.locator('#rows').textContent()).toContain(XSS);
    expect(await page.locator('#quarantined').textContent()).toContain(XSS);
    for (const id of [XSS, `e${XSS}`]) {
      await page.goto(`${base}/#/i/${encodeURIComponent(id)}`);
      await page.reload();
      await page.locator('#i-status').waitFor();
      await page.locator('#i-history li, #history-off').first().waitFor();
      const body = (await page.locator('#instance-view').textContent()) ?? '';
      expect(body).toContain(XSS);
    }
    expect(await page.locator('#i-error').textContent()).toContain(XSS);
    await page.goto(`${base}/#/i/${encodeURIComponent(XSS)}`);
    await page.reload();
    await page.locator('#i-stop-reason').waitFor();
    expect(await page.locator('#i-stop-reason').textContent()).toBe(XSS);
    expect(await page.locator('#i-history').textContent()).toContain('NOTE');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.close();
  }, 60_000);

  it('a malformed instance link (#/i/%E0) shows the list, with no script error', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/i/%E0%A4%A`);
    await page.locator('#rows tr[data-id]').first().waitFor();
    expect(await page.locator('#list-view').isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('a page on another origin cannot send an event, stop or purge (no CORS, no simple request)', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
    const id = encodeURIComponent(`csrf${XSS}`);
    const tries = await page.evaluate(
      async ([b, i]) => {
        const out: string[] = [];
        const attempts: Array<[string, RequestInit]> = [
          [
            `/instances/${i}/events`,
            {
              method: 'POST',
              mode: 'no-cors',
              headers: { 'content-type': 'text/plain' },
              body: '{"type":"NOTE","note":"csrf"}',
            },
          ],
          [
            `/instances/${i}/events`,
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{"type":"NOTE","note":"csrf"}',
            },
          ],
          [`/instances/${i}/stop`, { method: 'POST', mode: 'no-cors', body: '{}' }],
          [`/instances/${i}?force=true`, { method: 'DELETE', mode: 'no-cors' }],
        ];
        for (const [path, init] of attempts)
          out.push(
            await fetch(b + path, init).then(
              (r) => String(r.status),
              (e) => `refused: ${e}`,
            ),
          );
        // A form post, the oldest cross-site request of all (the page's DOM; no DOM types here).
        const document = (globalThis as any).document;
        const form = document.createElement('form');
        form.method = 'POST';
        form.enctype = 'text/plain';
        form.action = `${b}/instances/${i}/events`;
        const input = document.createElement('input');
        input.name = '{"type":"NOTE","note":"csrf","x":"';
        input.value = '"}';
        form.append(input);
        document.body.append(form);
        form.target = 'sink';
        const sink = document.createElement('iframe');
        sink.name = 'sink';
        document.body.append(sink);
        const loaded = new Promise((r) => sink.addEventListener('load', r));
        form.submit();
        await loaded;
        return out;
      },
      [base, id],
    );
    expect(tries).toHaveLength(4);
    const status = await registry.getStatus(`csrf${XSS}`);
    expect(status).toMatchObject({ status: 'running', context: { note: null } });
    await page.close();
  }, 60_000);
});
