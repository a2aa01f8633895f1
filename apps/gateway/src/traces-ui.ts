/**
 * The /ui/traces page: recent and slowest journeys, a search box for an event id or trace id, and
 * the journey drawn as a waterfall. One self-contained HTML document (inline CSS and script, no
 * build step, nothing fetched from the internet); it reads the JSON API next to it
 * (/ui/api/traces, /ui/api/trace/<id>) with the admin cookie.
 */

export const TRACES_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Floodgate · event journeys</title>
<link rel="icon" href="data:,">
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#26303b; --text:#d7dde4; --dim:#8a96a3; --accent:#4fb3ff; --err:#ff6b6b; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
  header { padding:14px 22px; border-bottom:1px solid var(--line); display:flex; gap:18px; align-items:center; flex-wrap:wrap; }
  h1 { font-size:17px; margin:0; font-weight:600; }
  h1 span { color:var(--dim); font-weight:400; }
  form { display:flex; gap:8px; flex:1; min-width:320px; }
  input, select, button { font:inherit; color:var(--text); background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:6px 10px; }
  input { flex:1; font-family:ui-monospace, SFMono-Regular, Menlo, monospace; }
  button { cursor:pointer; background:#1f3b55; border-color:#2c5a82; }
  main { padding:18px 22px; display:grid; gap:18px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
  h2 { font-size:14px; margin:0 0 10px; font-weight:600; display:flex; gap:10px; align-items:center; }
  h2 .dim, .dim { color:var(--dim); font-weight:400; }
  .lists { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
  @media (max-width: 1000px) { .lists { grid-template-columns:1fr; } }
  table { width:100%; border-collapse:collapse; font-size:13px; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { color:var(--dim); font-weight:500; }
  tbody tr { cursor:pointer; }
  tbody tr:hover { background:#1d252e; }
  td.num { text-align:right; font-variant-numeric:tabular-nums; }
  code, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
  .pill { display:inline-block; padding:0 7px; border-radius:9px; font-size:12px; border:1px solid var(--line); }
  .ok { color:#7ee787; } .bad { color:var(--err); } .warn { color:#e3b341; }
  .facts { display:flex; gap:22px; flex-wrap:wrap; margin:0 0 12px; color:var(--dim); }
  .facts b { color:var(--text); font-weight:600; }
  .wf-head, .hop { display:grid; grid-template-columns: 210px 300px 90px 90px 1fr; gap:10px; align-items:center; }
  .wf-head { color:var(--dim); font-size:12px; border-bottom:1px solid var(--line); padding-bottom:4px; }
  .hop { padding:5px 0; border-bottom:1px solid #1d252e; }
  .hop .name { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  .hop .summary { grid-column: 2 / 6; color:var(--dim); font-size:12px; margin-top:-2px; }
  .track { position:relative; height:16px; background:#11161c; border-radius:3px; }
  .bar { position:absolute; top:2px; height:12px; border-radius:3px; min-width:2px; }
  .linked .name::after { content:" ↗ linked"; color:var(--dim); font-size:11px; }
  .empty { color:var(--dim); padding:8px 0; }
  .error { color:var(--err); }
</style>
</head>
<body>
<header>
  <h1>Floodgate <span>· event journeys</span></h1>
  <form id="search-form">
    <input id="search" name="id" placeholder="event id or trace id" autocomplete="off" spellcheck="false">
    <button id="search-button" type="submit">Show journey</button>
  </form>
  <label class="dim">window
    <select id="since"><option>5m</option><option selected>1h</option><option>6h</option><option>24h</option><option>72h</option></select>
  </label>
</header>
<main>
  <section id="journey" hidden>
    <h2>Journey <span class="dim mono" id="journey-title"></span></h2>
    <div class="facts" id="facts"></div>
    <div class="wf-head"><div>service</div><div>span</div><div>start</div><div>duration</div><div>waterfall</div></div>
    <div id="waterfall"></div>
  </section>
  <div id="message" class="empty" hidden></div>
  <div class="lists">
    <section><h2>Slowest journeys <span class="dim" id="slowest-note"></span></h2><div id="slowest"></div></section>
    <section><h2>Recent journeys <span class="dim" id="recent-note"></span></h2><div id="recent"></div></section>
  </div>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const palette = ['#4fb3ff', '#c297ff', '#7ee787', '#ffa657', '#ff7b9c', '#56d4dd', '#e3b341'];
  const colours = new Map();
  const colour = (service) => {
    if (!colours.has(service)) colours.set(service, palette[colours.size % palette.length]);
    return colours.get(service);
  };
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k === 'style') node.style.cssText = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  };
  const ms = (v) => (v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v >= 10 ? v.toFixed(1) + ' ms' : v.toFixed(2) + ' ms');
  // The browser's mirror of FloodgateError: the API's stable code (docs/errors.md) and its message.
  class ApiError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }
  const api = async (path) => {
    const response = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(body.error && body.error.code, (body.error && body.error.message) || response.status + ' ' + response.statusText);
    return body;
  };

  function showMessage(text, isError) {
    const m = $('message');
    m.hidden = !text;
    m.textContent = text || '';
    m.className = isError ? 'error' : 'empty';
  }

  function renderJourney(j) {
    $('journey').hidden = false;
    $('journey-title').textContent = j.traceId;
    const facts = $('facts');
    facts.replaceChildren();
    const fact = (label, value) => facts.append(el('span', {}, label + ' ', el('b', {}, value)));
    fact('end-to-end', ms(j.totalMs));
    fact('hops', String(j.hops.length));
    fact('services', j.services.join(', '));
    fact('started', j.startedAt.replace('T', ' ').replace('Z', ' UTC'));
    if (j.event) {
      fact('event', j.event.id);
      fact('kafka', 'partition ' + j.event.partition + ', offset ' + j.event.offset);
      fact('received → inserted', ms(j.event.endToEndMs));
    }
    facts.append(el('span', { class: 'pill ' + (j.complete ? 'ok' : 'warn'), 'data-testid': 'journey-state' }, j.complete ? 'in ClickHouse' : 'not inserted yet'));
    const total = Math.max(j.totalMs, 0.001);
    const rows = j.hops.map((h) => {
      // A batch span that began before this journey is drawn from its start.
      const left = (Math.max(0, h.startOffsetMs) / total) * 100;
      const width = Math.max(((h.startOffsetMs < 0 ? Math.max(0, h.durationMs + h.startOffsetMs) : h.durationMs) / total) * 100, 0.3);
      const bar = el('div', { class: 'bar', title: h.name + ': ' + ms(h.durationMs), style: 'left:' + left.toFixed(3) + '%;width:' + Math.min(width, 100 - left).toFixed(3) + '%;background:' + colour(h.service) + (h.status === 'error' ? ';outline:2px solid #ff6b6b' : '') });
      return el('div', { class: 'hop' + (h.linked ? ' linked' : ''), 'data-testid': 'hop', 'data-hop': h.hop || h.name, 'data-service': h.service },
        el('div', { class: 'service', style: 'color:' + colour(h.service) }, h.service),
        el('div', { class: 'name mono', style: 'padding-left:' + h.depth * 14 + 'px', title: h.name }, h.name),
        el('div', { class: 'mono num' }, (h.startOffsetMs < 0 ? '-' : '+') + ms(Math.abs(h.startOffsetMs))),
        el('div', { class: 'mono num' }, ms(h.durationMs)),
        el('div', { class: 'track' }, bar),
        el('div', { class: 'summary' }, h.summary + (h.status === 'error' ? '  ✗ ' + (h.statusMessage || 'error') : '')));
    });
    $('waterfall').replaceChildren(...rows);
  }

  async function show(id) {
    id = (id || '').trim();
    if (!id) return;
    $('search').value = id;
    history.replaceState(null, '', '?id=' + encodeURIComponent(id));
    showMessage('Loading ' + id + ' …');
    try {
      renderJourney(await api('/ui/api/trace/' + encodeURIComponent(id)));
      showMessage('');
    } catch (error) {
      $('journey').hidden = true;
      showMessage(error.message, true);
    }
  }

  function renderList(target, note, journeys) {
    note.textContent = '(' + journeys.length + ')';
    if (journeys.length === 0) {
      target.replaceChildren(el('div', { class: 'empty' }, 'No sampled journeys in this window.'));
      return;
    }
    const body = el('tbody', {}, ...journeys.map((j) =>
      el('tr', { onclick: () => show(j.traceId), 'data-testid': 'journey-row', title: 'trace ' + j.traceId },
        el('td', { class: 'mono' }, j.startedAt.slice(11, 23)),
        el('td', { class: 'num mono' }, ms(j.totalMs)),
        el('td', { class: j.complete ? 'ok' : 'warn' }, j.complete ? 'inserted' : 'in flight'),
        el('td', { class: 'num' }, j.spans),
        el('td', { class: 'mono' }, (j.eventIds[0] || j.traceId.slice(0, 16)) + (j.eventIds.length > 1 ? ' +' + (j.eventIds.length - 1) : '')),
        el('td', { class: Number(j.status) >= 500 ? 'bad' : '' }, j.status))));
    target.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, ...['start', 'end-to-end', 'state', 'spans', 'event', 'status'].map((h) => el('th', {}, h)))), body));
  }

  async function refreshLists() {
    const since = $('since').value;
    for (const order of ['slowest', 'recent']) {
      try {
        const { journeys } = await api('/ui/api/traces?order=' + order + '&limit=15&since=' + encodeURIComponent(since));
        renderList($(order), $(order + '-note'), journeys);
      } catch (error) {
        $(order).replaceChildren(el('div', { class: 'error' }, error.message));
      }
    }
  }

  $('search-form').addEventListener('submit', (e) => { e.preventDefault(); show($('search').value); });
  $('since').addEventListener('change', refreshLists);
  refreshLists();
  setInterval(refreshLists, 15000);
  const initial = new URLSearchParams(location.search).get('id');
  if (initial) show(initial);
})();
</script>
</body>
</html>
`;

/** Asked for the admin token (the page is protected by FLOODGATE_ADMIN_TOKEN). */
export function tokenPage(rejected: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Floodgate · admin token</title><link rel="icon" href="data:,">
<style>body{font:15px system-ui,sans-serif;background:#0f1419;color:#d7dde4;display:grid;place-items:center;height:100vh;margin:0}
form{background:#171d24;border:1px solid #26303b;border-radius:8px;padding:22px;display:grid;gap:10px;min-width:340px}
input,button{font:inherit;padding:7px 10px;border-radius:6px;border:1px solid #26303b;background:#11161c;color:inherit}button{background:#1f3b55}
.err{color:#ff6b6b}</style></head>
<body><form method="get" action="/ui/traces"><b>Floodgate admin</b>
<label>Admin token (FLOODGATE_ADMIN_TOKEN)<br><input type="password" name="token" autofocus></label>
${rejected ? '<div class="err">That token is not right.</div>' : ''}<button type="submit">Open</button></form></body></html>`;
}
