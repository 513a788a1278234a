// The ground console page: state from /api/state, live updates over Server-Sent Events
// (/api/stream), rendering batched to one pass per animation frame so 10 nodes at 10 Hz cost
// the page little. window.ternStats counts what arrived (read by the browser tests).
import { $, api, h, inputMs, number, setInputMs, time } from './dom.js';
import { Commands } from './commands.js';
import { Plots } from './plots.js';

const stats = (window.ternStats = { hk: {}, evt: 0, rsp: 0, renders: 0, lagMs: [] });
const STALE_MS = 10_000;

const [session, dictionary] = await Promise.all([api('/api/state'), api('/api/dictionary')]);
const defs = new Map(dictionary.channels.map((c) => [c.name, c]));
const nodes = new Map(session.nodes.map((v) => [v.node, v]));
let selectedNode = session.nodes[0]?.node;
const plots = new Plots(dictionary);
const commands = new Commands(dictionary, session);

$('#who').textContent = `${session.user}${session.operator ? `, signing as operator ${session.operator.id} (${session.operator.name})` : ', no signing key'}`;
$('#logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST', body: {}, csrf: session.csrf });
  location.href = '/login';
});

for (const button of document.querySelectorAll('nav button')) {
  button.addEventListener('click', () => {
    for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b === button);
    for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== button.dataset.tab;
    if (button.dataset.tab === 'events') loadEvents();
    if (button.dataset.tab === 'archive') showArchive();
  });
}

// ---- overview
function limitsText(def) {
  const part = (l) => [l.low !== undefined ? `< ${l.low}` : '', l.high !== undefined ? `> ${l.high}` : ''].filter(Boolean).join(' or ');
  return [def?.yellow ? `yellow ${part(def.yellow)}` : '', def?.red ? `red ${part(def.red)}` : ''].filter(Boolean).join(', ');
}

function renderOverview() {
  stats.renders++;
  const now = Date.now();
  const rows = [...nodes.values()].sort((a, b) => a.node - b.node).map((v) => {
    const stale = now - v.lastContactMs > STALE_MS;
    const health = stale ? 'stale' : v.health;
    const store = v.store ? [v.store.bundles !== undefined ? `${v.store.bundles} bundles` : '', v.store.fill !== undefined ? ` ${(v.store.fill * 100).toFixed(1)}%` : ''].join('') : 'n/a';
    return h('tr', { 'data-node': v.node, class: v.node === selectedNode ? 'selected' : '', onclick: () => { selectedNode = v.node; schedule(); } },
      h('td', {}, h('strong', {}, v.node)), h('td', {}, v.mode),
      h('td', {}, h('span', { class: `badge ${health}` }, health)),
      h('td', { class: 'age', 'data-ms': v.lastContactMs }, `${((now - v.lastContactMs) / 1000).toFixed(1)} s ago`),
      h('td', {}, v.records), h('td', {}, store),
      h('td', {}, v.limits.length === 0 ? h('span', { class: 'hint' }, 'none') : v.limits.map((l) => h('span', { class: `chip ${l.state}`, title: `${l.channel} = ${l.value} ${l.units}` }, `${l.channel} ${number(l.value)}`))),
      h('td', {}, h('button', { type: 'button', class: 'small', onclick: (e) => { e.stopPropagation(); commands.listBundles(v.node).catch((err) => ($('#bundles-node').textContent = err.message)); } }, 'Bundles')));
  });
  $('#nodes').tBodies[0].replaceChildren(...rows);
  $('#no-nodes').hidden = nodes.size > 0;
  const v = nodes.get(selectedNode);
  $('#values-node').textContent = v ? `node ${v.node}, record ${v.seq}` : '';
  if (v) {
    const states = new Map(v.limits.map((l) => [l.channel, l.state]));
    const filter = $('#values-filter').value.trim().toLowerCase();
    $('#values').tBodies[0].replaceChildren(...Object.keys(v.channels).filter((name) => name.includes(filter)).sort().map((name) => {
      const def = defs.get(name);
      const value = v.channels[name];
      const label = def?.labels?.[value];
      return h('tr', { 'data-channel': name, class: states.get(name) ?? '' }, h('td', {}, name), h('td', { class: 'value' }, label ?? number(value)), h('td', {}, def?.units ?? ''), h('td', { class: 'hint' }, limitsText(def)));
    }));
  }
  const list = $('#node-list');
  list.replaceChildren(...[...nodes.keys()].map((n) => h('option', { value: n })));
  if (!$('#cmd-node').value && selectedNode !== undefined) $('#cmd-node').value = selectedNode;
  const evNode = $('#ev-node');
  for (const n of nodes.keys()) if (![...evNode.options].some((o) => o.value === String(n))) evNode.append(h('option', { value: n }, `node ${n}`));
}

let frame;
function schedule() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = undefined;
    renderOverview();
  });
}
$('#values-filter').addEventListener('input', schedule);
setInterval(() => {
  for (const td of document.querySelectorAll('#nodes td.age')) td.textContent = `${((Date.now() - Number(td.dataset.ms)) / 1000).toFixed(1)} s ago`;
}, 1000);

// ---- events
const eventRow = (e) => h('tr', { class: e.severity }, h('td', {}, time(e.tMs)), h('td', {}, e.node), h('td', {}, h('span', { class: `badge ${e.severity}` }, e.severity)), h('td', {}, e.name), h('td', {}, e.message));
function eventFilter() {
  return { node: $('#ev-node').value, severity: $('#ev-severity').value, text: $('#ev-text').value.trim().toLowerCase() };
}
function matches(e, f) {
  return (!f.node || String(e.node) === f.node) && (!f.severity || e.severity === f.severity) &&
    (!f.text || e.message.toLowerCase().includes(f.text) || e.name.toLowerCase().includes(f.text));
}
async function loadEvents() {
  const f = eventFilter();
  const rows = await api(`/api/events?node=${f.node}&severity=${encodeURIComponent(f.severity)}&text=${encodeURIComponent(f.text)}`);
  $('#event-log').tBodies[0].replaceChildren(...rows.reverse().map(eventRow));
  $('#event-log').dataset.filter = `${f.node}|${f.severity}|${f.text}`; // which filter the rows answer
}
$('#event-filter').addEventListener('submit', (e) => {
  e.preventDefault();
  loadEvents();
});

// ---- telemetry
function channelOptions(select, names) {
  select.replaceChildren(...names.map((n) => h('option', { value: n }, n)));
}
const knownChannels = () => [...new Set([...defs.keys(), ...Object.keys(nodes.get(selectedNode)?.channels ?? {})])].sort();
channelOptions($('#plot-channel'), knownChannels());
$('#plot-add').addEventListener('submit', (e) => {
  e.preventDefault();
  plots.add($('#plot-channel').value);
});
setInputMs($('#replay-from'), Date.now() - 600_000);
setInputMs($('#replay-to'), Date.now());
$('#replay').addEventListener('click', async () => {
  $('#plot-mode').textContent = 'replay';
  $('#plot-mode').className = 'badge yellow';
  await plots.replay(inputMs($('#replay-from')), inputMs($('#replay-to')));
});
$('#live').addEventListener('click', () => {
  $('#plot-mode').textContent = 'live';
  $('#plot-mode').className = 'badge';
  plots.live();
});
for (const name of ['exec.frames', 'exec.latenessP99Us']) if (defs.has(name)) plots.add(name);

// ---- archive
async function showArchive() {
  const s = await api('/api/state');
  channelOptions($('#ex-channel'), await api('/api/channels'));
  const rows = [['file', s.archive.file], ['retention', `${s.archive.retentionDays} days`], ['housekeeping records', s.archive.hk], ['samples', s.archive.sample],
    ['events', s.archive.event], ['commands', s.archive.command], ['responses', s.archive.response], ['archive errors', s.ground.archiveErrors], ['last archive error', s.ground.lastArchiveError ?? 'none']];
  $('#archive-info').tBodies[0].replaceChildren(...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))));
  exportLink();
}
function exportLink() {
  const p = new URLSearchParams({ kind: $('#ex-kind').value, format: $('#ex-format').value });
  if ($('#ex-kind').value === 'samples' && $('#ex-channel').value) p.set('channel', $('#ex-channel').value);
  if ($('#ex-node').value) p.set('node', $('#ex-node').value);
  const from = inputMs($('#ex-from'));
  const to = inputMs($('#ex-to'));
  if (from !== undefined) p.set('from', from);
  if (to !== undefined) p.set('to', to);
  $('#ex-link').href = `/api/export?${p}`;
  const cli = ['npx tern gse export', p.get('kind') === 'samples' ? `--channel ${p.get('channel') ?? 'NAME'}` : `--${p.get('kind')}`,
    from !== undefined ? `--from ${new Date(from).toISOString()}` : '', to !== undefined ? `--to ${new Date(to).toISOString()}` : '', p.get('node') ? `--node ${p.get('node')}` : '', `--format ${p.get('format')}`];
  $('#ex-cli').textContent = cli.filter(Boolean).join(' ');
}
setInputMs($('#ex-from'), Date.now() - 3600_000);
for (const el of document.querySelectorAll('#export select, #export input')) el.addEventListener('change', exportLink);

// ---- status and live updates
function showStatus(g) {
  $('#status').textContent = `${g.bundles} bundles, ${g.items} records archived` + (g.malformed ? `, ${g.malformed} malformed` : '') + (g.archiveErrors ? `, ${g.archiveErrors} ARCHIVE ERRORS` : '');
  $('#status').classList.toggle('red', g.archiveErrors > 0);
}
showStatus(session.ground);
commands.showHeld(session.held);
await commands.refreshHistory();
renderOverview();

const stream = new EventSource('/api/stream');
stream.addEventListener('open', () => {
  $('#link').textContent = 'live';
  $('#link').className = 'badge nominal';
});
stream.addEventListener('error', () => {
  $('#link').textContent = 'disconnected, retrying';
  $('#link').className = 'badge red';
});
stream.addEventListener('hk', (m) => {
  const { tMs, view } = JSON.parse(m.data);
  stats.hk[view.node] = (stats.hk[view.node] ?? 0) + 1;
  if (stats.lagMs.length < 100_000) stats.lagMs.push(Date.now() - tMs); // archived at tMs, shown now
  nodes.set(view.node, view);
  if (selectedNode === undefined) selectedNode = view.node;
  plots.housekeeping(view.node, tMs, view.channels);
  schedule();
});
stream.addEventListener('evt', (m) => {
  const e = JSON.parse(m.data);
  stats.evt++;
  if (!matches(e, eventFilter())) return;
  const body = $('#event-log').tBodies[0];
  body.prepend(eventRow(e));
  while (body.rows.length > 500) body.deleteRow(-1);
});
stream.addEventListener('rsp', (m) => {
  stats.rsp++;
  commands.response(JSON.parse(m.data));
});
stream.addEventListener('held', (m) => {
  commands.showHeld(JSON.parse(m.data));
  commands.refreshHistory();
});
stream.addEventListener('status', (m) => showStatus(JSON.parse(m.data)));
setInterval(async () => showStatus((await api('/api/state')).ground), 5000);
document.body.dataset.ready = 'true';
