/**
 * The dashboard's instance page, as browser script text: state and context as
 * collapsible trees, timers, children, output, error, stop reason, history,
 * and the send / stop / purge actions. Each action asks for confirmation and is
 * a plain API call, so it passes the same cross-site checks and `authorize`.
 *
 * @example
 * ```ts
 * const html = `<script>${DASHBOARD_LIST_SCRIPT}${DASHBOARD_INSTANCE_SCRIPT}</script>`;
 * ```
 */
export const DASHBOARD_INSTANCE_SCRIPT = String.raw`
let current;
let historyTimer;
function tree(value, depth) {
  if (value === null || typeof value !== 'object') return '<code class="leaf">' + esc(JSON.stringify(value) ?? 'undefined') + '</code>';
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (entries.length === 0) return '<code class="leaf">' + (Array.isArray(value) ? '[]' : '{}') + '</code>';
  return '<details' + (depth < 2 ? ' open' : '') + '><summary>' + (Array.isArray(value) ? 'Array(' + entries.length + ')' : '{' + entries.length + ' keys}') + '</summary><ul>' +
    entries.map(([k, v]) => '<li><span class="key">' + esc(k) + '</span>: ' + tree(v, depth + 1) + '</li>').join('') + '</ul></details>';
}
// A delay may be past any date (a Date throws beyond 8.64e15 ms) or infinite (null over JSON).
function dueText(ms) { return ms === null ? 'never' : Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : 'at ' + ms + ' ms, past any date'; }
function section(title, body, cls) { return '<section class="' + (cls || '') + '"><h2>' + esc(title) + '</h2>' + body + '</section>'; }
function renderInstance(s) {
  current = s;
  const parts = [
    '<p class="meta"><b class="status ' + esc(s.status) + '" id="i-status">' + esc(s.status) + '</b> · <span>' + esc(s.type) + '</span> · created ' + esc(s.createdAt) + ' · updated ' + esc(s.updatedAt) + '</p>',
    section('State', '<div id="i-state">' + tree(s.value, 0) + '</div>'),
    section('Context', '<div id="i-context">' + tree(s.context, 0) + '</div>'),
  ];
  if (s.timers) parts.push(section('Pending timers', s.timers.length ? '<ul id="i-timers">' + s.timers.map((t) => '<li><code>' + esc(t.event?.type ?? t.event) + '</code> due ' + esc(dueText(t.dueAt)) + (t.id ? ' <small>(' + esc(t.id) + ')</small>' : '') + '</li>').join('') + '</ul>' : '<p>None.</p>'));
  if (s.children) parts.push(section('Children', s.children.length ? '<ul id="i-children">' + s.children.map((c) => '<li><code>' + esc(c.id) + '</code> ' + esc(c.src ?? '') + ' <span class="status ' + esc(c.status) + '">' + esc(c.status) + '</span></li>').join('') + '</ul>' : '<p>None.</p>'));
  if (s.output !== undefined) parts.push(section('Output', '<div id="i-output">' + tree(s.output, 0) + '</div>'));
  if (s.error) parts.push(section('Error', '<pre id="i-error" class="error">' + esc((s.error.name ? s.error.name + ': ' : '') + s.error.message) + '</pre>'));
  if (s.stopReason !== undefined) parts.push(section('Stop reason', '<p id="i-stop-reason">' + esc(s.stopReason) + '</p>'));
  if (s.persistError) parts.push(section('Not persisted', '<pre class="error">' + esc(s.persistError.message) + '</pre>'));
  $('i-body').innerHTML = parts.join('');
  $('a-send').disabled = $('a-stop').disabled = s.status !== 'running';
}
async function loadHistory(id) {
  const res = await fetch(base + '/instances/' + encodeId(id) + '/history?limit=100');
  // The page moved on to another instance meanwhile: this one's timeline is not its.
  if (id !== $('i-id').textContent) return;
  const el = $('i-history');
  if (!res.ok) { el.innerHTML = '<p class="muted">' + (res.status === 404 || res.status === 405 ? 'History is not available here.' : 'History could not be read (' + res.status + ').') + '</p>'; return; }
  const { items } = await res.json();
  if (id !== $('i-id').textContent) return;
  el.innerHTML = items.length ? '<ol class="timeline">' + items.map((h) =>
    '<li><time>' + esc(new Date(h.at).toISOString()) + '</time> <span class="source">' + esc(h.source) + '</span> <code>' + esc(h.event?.type) + '</code> ' +
    '<code>' + esc(short(h.before)) + '</code> → <code>' + esc(short(h.after)) + '</code></li>').join('') + '</ol>'
    : '<p class="muted" id="history-off">History is off (or empty) for this instance.</p>';
}
async function act(method, path, body, question) {
  if (!confirm(question)) { $('a-result').textContent = 'Cancelled.'; return; }
  const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', 'x-requested-with': 'fetch' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.ok) { $('a-result').textContent = 'Done (' + res.status + ').'; $('a-result').className = 'ok'; return true; }
  let text = 'HTTP ' + res.status;
  try { const e = (await res.json()).error; text = e.code + ': ' + e.message; } catch {}
  $('a-result').textContent = text;
  $('a-result').className = 'error';
  return false;
}
// A read and the stream can cross: the status shown is never replaced by an older one.
function newer(s) {
  return !current || current.id !== s.id || Date.parse(s.updatedAt) >= Date.parse(current.updatedAt);
}
function showInstance(id) {
  if (source) source.close();
  clearTimeout(historyTimer);
  historyTimer = undefined;
  $('list-view').hidden = true;
  $('instance-view').hidden = false;
  $('i-id').textContent = id;
  $('a-result').textContent = '';
  $('i-body').innerHTML = 'Loading…';
  $('i-history').innerHTML = '';
  source = new EventSource(base + '/events?id=' + encodeURIComponent(id));
  const s = source;
  // Read whole: on opening, and when a change is too large for the stream (a
  // reload notice, at every change of a large instance): one read at a time,
  // at most one a second, and none that lands once the page shows another instance.
  let reading = false, again = false, last = 0;
  const refresh = async () => {
    if (reading) { again = true; return; }
    reading = true;
    try {
      const wait = last + 1000 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (s !== source) return;
      const first = last === 0;
      last = Date.now();
      const res = await fetch(base + '/instances/' + encodeId(id));
      const status = res.ok ? await res.json() : undefined;
      if (s !== source) return;
      if (res.status === 404) { $('i-body').innerHTML = '<p id="i-gone">No such instance (purged?).</p>'; current = undefined; return; }
      if (!status) { $('i-body').innerHTML = '<p class="error">Could not read it (HTTP ' + res.status + ').</p>'; return; }
      if (!newer(status)) return;
      renderInstance(status);
      historyTimer ??= setTimeout(() => { historyTimer = undefined; loadHistory(id); }, first ? 0 : 1000);
    } finally {
      reading = false;
      if (again && s === source) { again = false; refresh(); }
    }
  };
  source.onopen = () => { live('live'); refresh(); };
  source.onerror = () => streamFailed(s, () => showInstance(id));
  source.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.reload) { refresh(); return; }
    for (const s of m.changed ?? []) {
      if (s.id !== id || !newer(s)) continue;
      renderInstance(s);
      // The timeline grows with each change: read it again, at most once a second.
      historyTimer ??= setTimeout(() => { historyTimer = undefined; loadHistory(id); }, 1000);
    }
    if ((m.removed ?? []).includes(id)) { current = undefined; $('i-body').innerHTML = '<p id="i-gone">This instance was purged.</p>'; }
  };
}
$('a-send').addEventListener('click', () => {
  let event;
  try { event = JSON.parse($('a-event').value); } catch (err) { $('a-result').textContent = 'The event is not valid JSON: ' + err.message; $('a-result').className = 'error'; return; }
  act('POST', '/instances/' + encodeId(current.id) + '/events', event, 'Send ' + JSON.stringify(event.type) + ' to ' + current.id + '?');
});
$('a-stop').addEventListener('click', () => {
  const reason = $('a-reason').value;
  act('POST', '/instances/' + encodeId(current.id) + '/stop', reason ? { reason } : {}, 'Stop ' + current.id + '? It will not run again.');
});
$('a-purge').addEventListener('click', async () => {
  const running = current.status === 'running';
  const done = await act('DELETE', '/instances/' + encodeId(current.id) + (running ? '?force=true' : ''), undefined,
    'Purge ' + current.id + (running ? ', which is still running,' : '') + ' and its stored record? This cannot be undone.');
  if (done) location.hash = '';
});
function route() {
  const m = /^#\/i\/(.+)$/.exec(location.hash);
  // A hand-edited link (#/i/%E0) is not a URI component: show the list, not a dead page.
  let id;
  try { id = m ? decodeURIComponent(m[1]) : undefined; } catch {}
  if (id !== undefined) { showInstance(id); return; }
  $('instance-view').hidden = true;
  $('list-view').hidden = false;
  connectList();
  loadQuarantine();
}
window.addEventListener('hashchange', route);
route();
`;
