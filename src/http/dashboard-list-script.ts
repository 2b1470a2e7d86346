/**
 * The dashboard's shared helpers and its list view, as browser script text.
 * Live updates apply the statuses the event stream carries: after the first
 * page load, a tab makes no request per change.
 *
 * @example
 * ```ts
 * const html = `<script>const base = '';${DASHBOARD_LIST_SCRIPT}</script>`;
 * ```
 */
export const DASHBOARD_LIST_SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const short = (v) => { const s = JSON.stringify(v); return s === undefined ? '' : s.length > 120 ? s.slice(0, 117) + '…' : s; };
const encodeId = (id) => id === '.' || id === '..' ? '~' + id : id === '~.' || id === '~..' ? '%7E' + id.slice(1) : encodeURIComponent(id);
const b64url = (text) => { let bin = ''; for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b); return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''); };
const byNewest = (a, b) => a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
const STATUSES = ['running', 'done', 'error', 'stopped'];
let source;
const view = { status: '', type: '', idPrefix: '', limit: 50 };
let cursors = [];
let cursor;
let rows = new Map();
let refill;

function filterParams() {
  const p = new URLSearchParams();
  if (view.status) p.set('status', view.status);
  if (view.type) p.set('type', view.type);
  if (view.idPrefix) p.set('idPrefix', view.idPrefix);
  return p;
}
function live(text) { $('live').textContent = text; }
// EventSource gives up on an answer other than a stream (a 503 TOO_MANY_STREAMS
// when the server has its maxEventStreams open): open it again after a while.
function streamFailed(s, reconnect) {
  if (s !== source) return;
  if (s.readyState !== EventSource.CLOSED) return live('reconnecting…');
  live('refused by the server (see its Retry-After); retrying in 5 s…');
  setTimeout(() => { if (s === source) reconnect(); }, 5000);
}
function renderCounts(c) {
  $('counts').innerHTML = ['', ...STATUSES].map((s) =>
    '<button type="button" class="count ' + (s || 'all') + (view.status === s ? ' on' : '') + '" data-status="' + s + '">' +
    (s || 'all') + ' <b>' + (s ? c[s] : c.total) + '</b></button>').join('');
}
function renderRows() {
  const list = [...rows.values()];
  if (!cursor) list.sort(byNewest);
  $('rows').innerHTML = list.length ? list.map((s) =>
    '<tr data-id="' + esc(s.id) + '"><td><a href="#/i/' + esc(encodeURIComponent(s.id)) + '"><code>' + esc(s.id) + '</code></a></td><td>' + esc(s.type) + '</td>' +
    '<td class="status ' + esc(s.status) + '">' + esc(s.status) + '</td><td class="state"><code>' + esc(short(s.value)) + '</code></td>' +
    '<td><code>' + esc(s.contextOmitted ? '(' + s.contextOmitted + ' bytes)' : short(s.context)) + '</code></td><td>' + esc(s.updatedAt) + '</td></tr>').join('')
    : '<tr><td colspan="6">No instances match.</td></tr>';
  $('prev').disabled = cursors.length === 0;
  $('next').disabled = rows.size < view.limit;
  $('page').textContent = 'page ' + (cursors.length + 1);
}
// Only the answer to the latest read is shown: answers can land out of order.
let pageSeq = 0;
async function loadPage() {
  const mine = ++pageSeq;
  const p = filterParams();
  p.set('order', 'updated');
  p.set('limit', String(view.limit));
  if (cursor) p.set('cursor', cursor);
  const res = await fetch(base + '/instances?' + p);
  const body = await res.json();
  if (mine !== pageSeq) return;
  if (!res.ok) { $('rows').innerHTML = '<tr><td colspan="6" class="error">' + esc(body.error.code + ': ' + body.error.message) + '</td></tr>'; return; }
  rows = new Map(body.items.map((s) => [s.id, s]));
  renderRows();
}
async function loadCounts() {
  const p = filterParams();
  p.delete('status');
  const res = await fetch(base + '/counts?' + p);
  if (res.ok) renderCounts(await res.json());
}
async function loadQuarantine() {
  const res = await fetch(base + '/quarantine');
  if (!res.ok) { $('quarantine').hidden = true; return; }
  const { items } = await res.json();
  $('quarantine').hidden = false;
  $('quarantined').innerHTML = items.length ? items.map((q) =>
    '<tr data-key="' + esc(q.key) + '"><td><code>' + esc(q.key) + '</code></td><td><code>' + esc(q.id ?? '') + '</code></td><td>' + esc(q.reason ?? '') + '</td><td>' + esc(q.at ?? '') + '</td></tr>').join('')
    : '<tr><td colspan="4">None.</td></tr>';
}
function apply(m) {
  if (m.counts) renderCounts(m.counts);
  if (m.reload) { reloadSoon(); return; }
  let emptied = false;
  for (const id of m.removed ?? []) emptied = rows.delete(id) || emptied;
  for (const s of m.changed ?? []) {
    // On the first page every change belongs on top; a later page only updates the rows it shows.
    if (!cursor || rows.has(s.id)) rows.set(s.id, s);
  }
  if (!cursor && rows.size > view.limit) rows = new Map([...rows.values()].sort(byNewest).slice(0, view.limit).map((s) => [s.id, s]));
  renderRows();
  // A removed row leaves a gap that only the server can fill.
  if (emptied) reloadSoon();
}
// Reads the page again at most once a second: a tab that falls behind gets a
// reload notice at every batch.
let lastReload = 0;
function reloadSoon() {
  if (refill) return;
  const wait = lastReload + 1000 - Date.now();
  const run = () => { refill = undefined; lastReload = Date.now(); loadPage(); };
  if (wait <= 0) run();
  else refill = setTimeout(run, wait);
}
function connectList() {
  if (source) source.close();
  const p = filterParams();
  p.set('limit', String(view.limit));
  source = new EventSource(base + '/events?' + p);
  source.onopen = () => { live('live'); loadPage(); loadCounts(); };
  const s = source;
  source.onerror = () => streamFailed(s, connectList);
  source.onmessage = (e) => apply(JSON.parse(e.data));
}
function applyFilter() {
  view.status = $('f-status').value;
  view.type = $('f-type').value.trim();
  view.idPrefix = $('f-prefix').value;
  cursors = [];
  cursor = undefined;
  connectList();
}
$('filters').addEventListener('submit', (e) => { e.preventDefault(); applyFilter(); });
$('f-status').addEventListener('change', applyFilter);
$('counts').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  $('f-status').value = b.dataset.status;
  applyFilter();
});
$('next').addEventListener('click', () => {
  const list = [...rows.values()];
  const last = list[list.length - 1];
  if (!last) return;
  cursors.push(cursor);
  cursor = b64url(JSON.stringify([Date.parse(last.updatedAt), last.id, 'u']));
  loadPage();
});
$('prev').addEventListener('click', () => { cursor = cursors.pop(); loadPage(); });
`;
