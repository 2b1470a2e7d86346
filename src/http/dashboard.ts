/**
 * The dashboard at `GET /`: a dependency-free page that lists instances with
 * their state and status, and refreshes the ones the event stream says changed.
 */
export function dashboardHtml(basePath: string): string {
  const base = JSON.stringify(basePath);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xstate-registry</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
  h1 { font-size: 1.3rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f5f5f7; }
  code { font: 12px ui-monospace, monospace; }
  .running { color: #0a7d28; } .done { color: #555; } .error { color: #c00; } .stopped { color: #a15c00; }
  #live { font-size: .85rem; color: #777; }
</style>
</head>
<body>
<h1>xstate-registry <span id="live">connecting…</span></h1>
<table>
  <thead><tr><th>ID</th><th>Type</th><th>Status</th><th>State</th><th>Context</th><th>Updated</th></tr></thead>
  <tbody id="rows"><tr><td colspan="6">Loading…</td></tr></tbody>
</table>
<script>
const base = ${base};
const rows = new Map();
const tbody = document.getElementById('rows');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const short = (v) => { const s = JSON.stringify(v); return s.length > 120 ? s.slice(0, 117) + '…' : s; };
function render() {
  const list = [...rows.values()].sort((a, b) => a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1);
  tbody.innerHTML = list.length ? list.map((s) =>
    '<tr data-id="' + esc(s.id) + '"><td><code>' + esc(s.id) + '</code></td><td>' + esc(s.type) + '</td>' +
    '<td class="status ' + esc(s.status) + '">' + esc(s.status) + '</td><td class="state"><code>' + esc(short(s.value)) + '</code></td>' +
    '<td><code>' + esc(short(s.context)) + '</code></td><td>' + esc(s.updatedAt) + '</td></tr>').join('')
    : '<tr><td colspan="6">No instances yet.</td></tr>';
}
async function loadAll() {
  let cursor;
  rows.clear();
  do {
    const res = await fetch(base + '/instances?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    const page = await res.json();
    for (const s of page.items) rows.set(s.id, s);
    cursor = page.cursor;
  } while (cursor);
  render();
}
const encodeId = (id) => id === '.' || id === '..' ? '~' + id : id === '~.' || id === '~..' ? '%7E' + id.slice(1) : encodeURIComponent(id);
async function refresh(ids) {
  await Promise.all(ids.map(async (id) => {
    const res = await fetch(base + '/instances/' + encodeId(id));
    if (res.status === 404) rows.delete(id);
    else if (res.ok) rows.set(id, await res.json());
  }));
  render();
}
const source = new EventSource(base + '/events');
source.onopen = () => { document.getElementById('live').textContent = 'live'; loadAll(); };
source.onerror = () => { document.getElementById('live').textContent = 'reconnecting…'; };
source.onmessage = (e) => { const m = JSON.parse(e.data); if (m.reload) loadAll(); else refresh(m.ids); };
loadAll();
</script>
</body>
</html>
`;
}
