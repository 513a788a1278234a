// Small DOM helpers. Text from the nodes (event messages, names) is untrusted: it only ever goes
// into text nodes, never into HTML.
export const $ = (selector) => document.querySelector(selector);

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Calls the console's API; throws an Error carrying the server's message. */
export async function api(path, { method = 'GET', body, csrf, raw = false } = {}) {
  const headers = {};
  if (csrf) headers['x-csrf-token'] = csrf;
  if (body !== undefined && !raw) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body), credentials: 'same-origin' });
  const value = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(value.error || `${res.status} ${res.statusText}`);
  return value;
}

export const time = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** A datetime-local input's value as Unix ms (the input is in local time). */
export const inputMs = (input) => (input.value ? new Date(input.value).getTime() : undefined);

export function setInputMs(input, ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  input.value = d.toISOString().slice(0, 19);
}

export function number(value, units) {
  if (typeof value !== 'number') return String(value);
  const text = Number.isInteger(value) ? String(value) : value.toPrecision(4);
  return units ? `${text} ${units}` : text;
}
