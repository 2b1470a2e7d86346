import { createServer } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { haveBrowser, launchChromium } from '../support/browser.js';
import { type Listening, listen, snapshotOf } from './support.js';

/** The attacker's page: every way a page can send a request to another origin without a preflight. */
function attackPage(target: string): string {
  return `<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="stopForm" method="POST" action="${target}/instances/victim/stop?attempt=form-stop" target="sink1"></form>
<form id="createForm" method="POST" enctype="text/plain" action="${target}/instances/approval/forged-form?attempt=form-create" target="sink2">
  <input name='{"subject":"x","pad":"' value='"}'>
</form>
<script>
window.attack = async () => {
  const results = {};
  const tryIt = async (name, fn) => { try { results[name] = String(await fn()); } catch (e) { results[name] = 'threw ' + e.name; } };
  await tryIt('no-cors stop', () => fetch('${target}/instances/victim/stop?attempt=nocors-stop', { method: 'POST', mode: 'no-cors' }).then((r) => r.type));
  await tryIt('no-cors create', () => fetch('${target}/instances/approval/forged-nocors?attempt=nocors-create', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"subject":"x"}' }).then((r) => r.type));
  await tryIt('cors json create', () => fetch('${target}/instances/approval/forged-cors?attempt=cors-create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status));
  await tryIt('beacon stop', () => navigator.sendBeacon('${target}/instances/victim/stop?attempt=beacon-stop'));
  await tryIt('beacon create', () => navigator.sendBeacon('${target}/instances/approval/forged-beacon?attempt=beacon-create', new Blob(['{}'], { type: 'text/plain' })));
  await tryIt('no-cors delete', () => fetch('${target}/instances/victim?attempt=nocors-delete', { method: 'DELETE', mode: 'no-cors' }).then((r) => r.type));
  document.getElementById('stopForm').submit();
  document.getElementById('createForm').submit();
  return results;
};
</script></body></html>`;
}

describe.skipIf(!haveBrowser)(
  'a Chromium page on another origin tries to drive the registry',
  () => {
    let registry: Registry<typeof demoMachines>;
    let api: Listening;
    let attacker: Listening;
    let target: string;
    let evil: string;
    let browser: Browser;
    /** The `attempt` query of every request that reached the registry's server, with its method. */
    const arrived: string[] = [];

    beforeAll(async () => {
      registry = createRegistry({ machines: demoMachines });
      await registry.start();
      const listener = toNodeListener(createHttpHandler(registry));
      api = await listen(
        createServer((req, res) => {
          const attempt = new URL(req.url ?? '/', 'http://x').searchParams.get('attempt');
          if (attempt) arrived.push(`${req.method} ${attempt}`);
          listener(req, res);
        }),
      );
      target = api.base;
      attacker = await listen(
        createServer((_req, res) =>
          res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(target)),
        ),
      );
      evil = `http://localhost:${attacker.port}`;
      browser = await launchChromium();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      for (const s of [api, attacker]) await s?.close();
      await registry?.close();
    });

    it('no-cors fetch, sendBeacon, a CORS fetch and <form> POSTs reach the server and change nothing', async () => {
      await registry.spawnSingleton('approval', 'victim');
      const before = await snapshotOf(registry);
      const page = await browser.newPage();
      await page.goto(`${evil}/`);
      const results = await page.evaluate(() =>
        (globalThis as unknown as { attack: () => Promise<Record<string, string>> }).attack(),
      );
      // The CORS fetch is stopped at its refused preflight, so its POST never leaves the browser.
      expect(results['cors json create']).toMatch(/threw TypeError/);
      await vi.waitFor(
        () => {
          for (const attempt of [
            'POST nocors-stop',
            'POST nocors-create',
            'OPTIONS cors-create',
            'POST beacon-stop',
            'POST beacon-create',
            'POST form-stop',
            'POST form-create',
          ])
            expect(arrived).toContain(attempt);
        },
        { timeout: 20_000, interval: 50 },
      );
      expect(arrived).not.toContain('POST cors-create');
      // A no-cors DELETE is not a thing: Chromium refuses it before sending.
      expect(arrived).not.toContain('DELETE nocors-delete');
      expect(await snapshotOf(registry)).toBe(before);
      expect((await registry.getStatus('victim'))?.status).toBe('running');
      expect((await registry.list({ limit: 10 })).items.map((s) => s.id)).toEqual(['victim']);
      await page.close();
    }, 60_000);

    it('the same page served by the registry origin itself can (so the attempts above would be seen to work)', async () => {
      const page = await browser.newPage();
      await page.goto(`${target}/`);
      const status = await page.evaluate(async () => {
        const res = await fetch('/instances/victim/stop', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"reason":"own page"}',
        });
        return res.status;
      });
      expect(status).toBe(200);
      expect((await registry.getStatus('victim'))?.status).toBe('stopped');
      await page.close();
    }, 60_000);
  },
);
