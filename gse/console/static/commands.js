// The command form, generated from the dictionary: one input per argument, typed as declared
// (range, labels, length). The console checks every argument again, as `tern gse send` does,
// before anything is signed; what it refuses is shown here with its reason.
import { $, api, h, time } from './dom.js';

function argInput(spec) {
  const id = `arg-${spec.name}`;
  const common = { id, name: spec.name, 'data-arg': spec.name, required: true };
  let input;
  let hint = spec.doc ?? '';
  switch (spec.type) {
    case 'int':
      input = h('input', { ...common, type: 'text', inputmode: 'numeric', placeholder: `${spec.min} .. ${spec.max}` });
      break;
    case 'float':
      input = h('input', { ...common, type: 'text', inputmode: 'decimal', placeholder: `${spec.min ?? ''} .. ${spec.max ?? ''}` });
      break;
    case 'enum':
      input = h('select', common, spec.values.map((v) => h('option', { value: v }, v)));
      break;
    case 'string':
      input = h('input', { ...common, type: 'text', maxlength: spec.maxLength });
      break;
    case 'bytes':
      input = h('input', { ...common, type: 'text', placeholder: 'hex:... or base64:...' });
      hint += ` (up to ${spec.maxLength ?? '?'} bytes)`;
      break;
  }
  return h('label', { class: 'arg' }, `${spec.name} `, h('span', { class: 'type' }, spec.type), input, h('span', { class: 'hint' }, hint));
}

export class Commands {
  constructor(dictionary, session) {
    this.session = session;
    this.commands = [...dictionary.commands].sort((a, b) => a.name.localeCompare(b.name));
    this.responses = new Map(); // digest -> latest response record
    this.history = [];
    this.bundleWaiters = new Map(); // digest -> node, for LIST_BUNDLES asked from the overview
    const select = $('#cmd-name');
    for (const c of this.commands) select.append(h('option', { value: c.name }, c.name));
    select.addEventListener('change', () => this.showArgs());
    if (this.commands.some((c) => c.name === 'PING')) select.value = 'PING';
    this.showArgs();
    $('#command-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit(false);
    });
    $('#cmd-hold').addEventListener('click', () => this.submit(true));
    $('#upload').addEventListener('submit', (e) => {
      e.preventDefault();
      this.upload();
    });
    if (!session.operator) {
      $('#cmd-send').disabled = true;
      $('#cmd-hold').disabled = true;
      $('#cmd-result').textContent = 'This console was started without --key: it sends only envelopes signed elsewhere (upload one).';
    }
  }

  selected() {
    return this.commands.find((c) => c.name === $('#cmd-name').value);
  }

  showArgs() {
    const c = this.selected();
    const critical = c.criticality === 'critical' ? 'critical: needs k operators' : c.criticalWhen ? `critical when ${c.criticalWhen}` : '';
    $('#cmd-doc').replaceChildren(`0x${c.opcode.toString(16).padStart(4, '0')} ${c.doc}`, critical ? h('strong', { class: 'critical' }, ` ${critical}`) : '');
    $('#cmd-args').replaceChildren(...c.args.map(argInput));
  }

  form(hold) {
    const args = {};
    for (const input of document.querySelectorAll('#cmd-args [data-arg]')) args[input.dataset.arg] = input.value;
    return { node: Number($('#cmd-node').value), command: $('#cmd-name').value, args, expiresS: Number($('#cmd-expires').value), hold };
  }

  async submit(hold) {
    const out = $('#cmd-result');
    out.className = 'result';
    out.textContent = hold ? 'signing...' : 'signing and sending...';
    try {
      const r = await api('/api/command', { method: 'POST', body: this.form(hold), csrf: this.session.csrf });
      out.textContent = r.held ? `held for co-signing: ${r.digest}` : `sent ${r.digest}: ${r.where}`;
      out.classList.add('ok');
      await this.refreshHistory();
    } catch (error) {
      out.textContent = `refused: ${error.message}`;
      out.classList.add('error');
    }
  }

  /** Asks `node` for its store listing; the response fills the overview's bundle table. */
  async listBundles(node) {
    const r = await api('/api/command', { method: 'POST', body: { node, command: 'LIST_BUNDLES', args: { offset: '0', limit: '50' } }, csrf: this.session.csrf });
    this.bundleWaiters.set(r.digest, node);
    $('#bundles-node').textContent = `node ${node}: asked, waiting for the response`;
    await this.refreshHistory();
  }

  async upload() {
    const file = $('#upload-file').files[0];
    const out = $('#cmd-result');
    if (!file) return;
    try {
      const held = await api('/api/held', { method: 'POST', body: await file.arrayBuffer(), raw: true, csrf: this.session.csrf });
      out.className = 'result ok';
      out.textContent = `uploaded ${held.command} ${held.digest}: signed by operators ${held.signedBy.join(', ')}`;
    } catch (error) {
      out.className = 'result error';
      out.textContent = `upload refused: ${error.message}`;
    }
  }

  async act(digest, action) {
    const out = $('#cmd-result');
    try {
      const r = await api(`/api/held/${digest}/${action}`, { method: 'POST', body: {}, csrf: this.session.csrf });
      out.className = 'result ok';
      out.textContent = action === 'send' ? `sent ${digest}: ${r.where}` : `co-signed ${digest}: operators ${r.signedBy.join(', ')}`;
      await this.refreshHistory();
    } catch (error) {
      out.className = 'result error';
      out.textContent = `${action} refused: ${error.message}`;
    }
  }

  showHeld(held) {
    const rows = held.map((c) => h('tr', { 'data-digest': c.digest },
      h('td', {}, h('strong', {}, c.command), ` ${Object.entries(c.args).map(([k, v]) => `${k}=${v}`).join(' ')}`, c.critical ? h('div', { class: 'critical' }, c.critical) : '', h('div', { class: 'hint' }, c.digest)),
      h('td', {}, c.node),
      h('td', {}, c.signedBy.map((o) => `operator ${o}`).join(', ')),
      h('td', {}, time(c.expiresMs)),
      h('td', {},
        h('a', { class: 'button small', href: `/api/held/${c.digest}/envelope`, download: `command-${c.digest}.cbor` }, 'Download'),
        this.session.operator && !c.signedBy.includes(this.session.operator.id) ? h('button', { type: 'button', class: 'small', onclick: () => this.act(c.digest, 'cosign') }, 'Co-sign') : '',
        h('button', { type: 'button', class: 'small send', onclick: () => this.act(c.digest, 'send') }, 'Send'))));
    $('#held').tBodies[0].replaceChildren(...rows);
  }

  async refreshHistory() {
    const { commands, responses } = await api('/api/history');
    for (const r of responses) this.response(r.record, false);
    this.history = commands;
    this.render();
  }

  /** A response arrived (live or from the archive). */
  response(record, render = true) {
    if (!record.digest) return;
    this.responses.set(record.digest, record);
    const node = this.bundleWaiters.get(record.digest);
    if (node !== undefined && record.status === 'executed' && record.result) this.showBundles(node, record.result);
    if (render) this.render();
  }

  showBundles(node, result) {
    $('#bundles-node').textContent = `node ${node}: ${result.total} bundle(s)`;
    const rows = (result.bundles ?? []).map((b) =>
      h('tr', {}, h('td', { class: 'mono' }, b.id), h('td', {}, b.source), h('td', {}, b.destination), h('td', {}, b.state), h('td', {}, b.size)));
    $('#bundles').tBodies[0].replaceChildren(...(rows.length > 0 ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: 5, class: 'hint' }, 'The store holds no bundles: everything was delivered or forwarded.'))]));
  }

  render() {
    const rows = [...this.history].reverse().map((c) => {
      const r = this.responses.get(c.digest);
      const result = r ? [h('span', { class: `badge ${r.status}` }, r.status), r.reason ? ` ${r.reason}` : '', r.approvals ? ` ${r.approvals.have}/${r.approvals.need} approvals` : '',
        r.result !== undefined ? h('div', { class: 'mono' }, JSON.stringify(r.result).slice(0, 160)) : '', r.detail ? h('div', { class: 'hint' }, r.detail) : ''] : h('span', { class: 'hint' }, 'no response yet');
      return h('tr', { 'data-digest': c.digest },
        h('td', {}, time(c.tMs)), h('td', {}, c.node), h('td', {}, h('strong', {}, c.command)),
        h('td', { class: 'mono' }, Object.entries(c.args).map(([k, v]) => `${k}=${v}`).join(' ')),
        h('td', {}, `${c.operator} / ${c.seq}`), h('td', {}, c.sentBy), h('td', {}, c.outcome), h('td', { class: 'response' }, result));
    });
    $('#history').tBodies[0].replaceChildren(...rows);
  }
}
