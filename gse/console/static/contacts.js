// The Contacts page: the mission's contact plan around now (drawn by the console as SVG, the same
// chart `tern route timeline` writes), the contacts open now and next, and where bundles wait on
// each node as its housekeeping and ROUTE_CONTACT_STARTED events report it. Refreshed every 2 s
// while the page is shown. window.ternContacts holds the last state (read by the browser tests).
import { $, api, h, time } from './dom.js';

const REFRESH_MS = 2000;
const section = $('#contacts');
const hms = (s) => `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
const seconds = (ms) => `${(ms / 1000).toFixed(0)} s`;

function contactRows(list, now, opening) {
  return list.map((c) => h('tr', { 'data-from': c.from, 'data-to': c.to },
    h('td', {}, c.from), h('td', {}, c.to),
    h('td', {}, `${c.start} – ${c.end}`),
    h('td', {}, opening ? `in ${seconds(c.opensMs - now)}` : `${seconds(c.closesMs - now)} left`),
    h('td', {}, `${(c.rate / 1000).toFixed(0)} kB/s`)));
}

async function chart(span) {
  const width = Math.max(600, Math.min(2400, Math.floor($('#contacts-chart').clientWidth || 1200)));
  const res = await fetch(`/api/contacts.svg?span=${span}&width=${width}`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || `${res.status}`);
  return new DOMParser().parseFromString(await res.text(), 'image/svg+xml').documentElement;
}

// Refreshes overlap when a fetch is slow; only the newest one started may draw, and it draws the
// state, the chart and the tables together, so window.ternContacts always matches the page.
let refreshes = 0;
async function refresh() {
  const mine = ++refreshes;
  const state = await api('/api/contacts');
  const svg = state.plan === null ? null : await chart($('#contacts-span').value);
  if (mine !== refreshes) return;
  window.ternContacts = state;
  $('#contacts-none').hidden = state.plan !== null;
  $('#contacts-body').hidden = state.plan === null;
  if (state.plan === null) return;
  const now = Date.now();
  $('#contacts-summary').title = state.file;
  $('#contacts-summary').textContent = `${state.file.split(/[\\/]/).pop()}: ${state.contacts} contacts between ${state.pairs} node pairs. Plan time now ${state.planNowS.toFixed(0)} s (${hms(Math.max(0, state.planNowS))}), plan time 0 at ${time(state.epochMs)} UTC, ${state.timeScale} plan s per s. Ground: ${state.ground.join(', ')}.`;
  $('#contacts-chart').replaceChildren(document.importNode(svg, true));
  $('#contacts-open').tBodies[0].replaceChildren(...contactRows(state.open, now, false));
  $('#contacts-open-none').hidden = state.open.length > 0;
  $('#contacts-next').tBodies[0].replaceChildren(...contactRows(state.next, now, true));
  $('#contacts-waiting').tHead.rows[0].replaceChildren(h('th', {}, 'Node'), ...state.channels.map((c) => h('th', { title: c.channel }, c.label)), h('th', {}, 'Last contact opened'), h('th', {}, 'Reported'));
  $('#contacts-waiting').tBodies[0].replaceChildren(...state.waiting.map((w) => h('tr', { 'data-node': w.node },
    h('td', {}, h('strong', {}, w.node), w.inPlan ? '' : h('span', { class: 'hint' }, ' (not in plan)')),
    ...state.channels.map((c) => h('td', { 'data-channel': c.channel, class: w.counts[c.channel] > 0 && c.channel !== 'route.contactsOpen' ? 'waiting' : '' }, w.counts[c.channel] ?? 'n/a')),
    h('td', {}, w.lastContactStarted ? `with ${w.lastContactStarted.neighbour}, ${w.lastContactStarted.waiting} bundles queued, ${seconds(now - w.lastContactStarted.tMs)} ago` : h('span', { class: 'hint' }, 'none seen')),
    h('td', { class: 'hint' }, `${seconds(now - w.lastContactMs)} ago`))));
  $('#contacts-waiting-none').hidden = state.waiting.length > 0;
}

function show() {
  refresh().then(() => ($('#contacts-error').textContent = ''), (error) => ($('#contacts-error').textContent = error.message));
}

document.querySelector('nav button[data-tab="contacts"]').addEventListener('click', show);
$('#contacts-span').addEventListener('change', show);
setInterval(() => { if (!section.hidden) show(); }, REFRESH_MS);
