import { DASHBOARD_INSTANCE_SCRIPT } from './dashboard-instance-script.js';
import { DASHBOARD_LIST_SCRIPT } from './dashboard-list-script.js';

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; } h1 a { color: inherit; text-decoration: none; }
  h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f5f5f7; } td:first-child, td:last-child { white-space: nowrap; }
  code, pre, textarea { font: 12px ui-monospace, monospace; }
  form, .bar { display: flex; gap: .5rem; align-items: center; margin: .6rem 0; flex-wrap: wrap; }
  .count { border: 1px solid #ccc; background: #fff; border-radius: 1rem; padding: .15rem .7rem; cursor: pointer; }
  .count.on { background: #1d1d1f; color: #fff; }
  .running { color: #0a7d28; } .done { color: #555; } .error { color: #c00; } .stopped { color: #a15c00; } .ok { color: #0a7d28; }
  #live, .muted, small { font-size: .85rem; color: #777; }
  details { margin-left: .6rem; } ul { margin: .2rem 0; padding-left: 1.2rem; list-style: none; } .key { color: #6a3ea1; }
  .timeline li { list-style: none; margin: .2rem 0; } .source { font-size: .8rem; background: #eef; padding: 0 .3rem; border-radius: .3rem; }
  .actions { border: 1px solid #ddd; border-radius: .5rem; padding: .6rem 1rem; margin-top: 1rem; }
  textarea { width: 100%; max-width: 40rem; height: 4rem; }
`;

/**
 * The dashboard at `GET /`: a dependency-free page that lists instances
 * (filters, counts per status, paging, newest-updated first), live through the
 * event stream's batched statuses, with an instance page at `#/i/<id>`.
 *
 * @example
 * ```ts
 * new Response(dashboardHtml('/registry'), { headers: { 'content-type': 'text/html' } });
 * ```
 */
export function dashboardHtml(basePath: string): string {
  // `<` escaped so that no base path can close the script element.
  const base = JSON.stringify(basePath).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xstate-registry</title>
<style>${STYLE}</style>
</head>
<body>
<h1><a href="#">xstate-registry</a> <span id="live">connecting…</span></h1>
<main id="list-view">
<div id="counts" class="bar"></div>
<form id="filters">
  <label>Status <select id="f-status"><option value="">any</option><option>running</option><option>done</option><option>error</option><option>stopped</option></select></label>
  <label>Type <input id="f-type" size="12"></label>
  <label>ID prefix <input id="f-prefix" size="18"></label>
  <button type="submit">Filter</button>
</form>
<table>
  <thead><tr><th>ID</th><th>Type</th><th>Status</th><th>State</th><th>Context</th><th>Updated</th></tr></thead>
  <tbody id="rows"><tr><td colspan="6">Loading…</td></tr></tbody>
</table>
<div class="bar"><button type="button" id="prev">← Newer</button><span id="page"></span><button type="button" id="next">Older →</button></div>
<section id="quarantine" hidden><h2>Quarantined records</h2>
<table><thead><tr><th>Key</th><th>ID</th><th>Reason</th><th>Set aside</th></tr></thead><tbody id="quarantined"></tbody></table></section>
</main>
<main id="instance-view" hidden>
<h2><code id="i-id"></code></h2>
<div id="i-body"></div>
<section><h2>History</h2><div id="i-history"></div></section>
<section class="actions"><h2>Actions</h2>
  <div class="bar"><textarea id="a-event" aria-label="Event JSON">{ "type": "" }</textarea><button type="button" id="a-send">Send event</button></div>
  <div class="bar"><input id="a-reason" placeholder="stop reason (optional)" size="30"><button type="button" id="a-stop">Stop</button>
  <button type="button" id="a-purge">Purge</button></div>
  <p id="a-result" role="status"></p>
</section>
</main>
<script>
const base = ${base};
${DASHBOARD_LIST_SCRIPT}
${DASHBOARD_INSTANCE_SCRIPT}
</script>
</body>
</html>
`;
}
