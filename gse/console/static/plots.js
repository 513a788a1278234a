// Live plots, one per channel, a series per node, limits drawn as dashed lines (yellow, red).
// Live points are appended at most once per animation frame; a replay loads a time range from
// the archive into the same plots.
import { $, api, h } from './dom.js';

const LIVE_POINTS = 600;
const COLOURS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#ff7f0e', '#d62728'];

function limitLines(def) {
  const lines = [];
  for (const [kind, colour] of [['yellow', '#d4a000'], ['red', '#d62728']]) {
    for (const side of ['low', 'high']) {
      const v = def?.[kind]?.[side];
      if (typeof v === 'number') lines.push({ value: v, colour });
    }
  }
  return lines;
}

export class Plots {
  constructor(dictionary) {
    this.defs = new Map(dictionary.channels.map((c) => [c.name, c]));
    this.plots = new Map(); // channel -> { chart, nodes: [], points: Map(node -> [[t],[v]]), el }
    this.mode = 'live';
    this.dirty = new Set();
    this.drawn = 0; // plot redraws, read by the browser test
  }

  add(channel) {
    if (this.plots.has(channel)) return;
    const def = this.defs.get(channel);
    const el = h('div', { class: 'plot', 'data-channel': channel });
    const title = h('div', { class: 'plot-title' }, channel, def?.units ? ` (${def.units})` : '', ' ',
      h('button', { type: 'button', class: 'small', onclick: () => this.remove(channel) }, 'remove'));
    el.append(title);
    $('#plots').append(el);
    const plot = { el, nodes: [], points: new Map(), chart: undefined, lines: limitLines(def), def };
    this.plots.set(channel, plot);
    this.rebuild(channel);
  }

  remove(channel) {
    const plot = this.plots.get(channel);
    if (!plot) return;
    plot.chart?.destroy();
    plot.el.remove();
    this.plots.delete(channel);
  }

  rebuild(channel) {
    const plot = this.plots.get(channel);
    plot.chart?.destroy();
    // Two plots a row; the tab may be hidden when a plot is made, so the window sets the width.
    const width = Math.max(360, Math.min(900, (window.innerWidth - 64) / 2));
    const opts = {
      width, height: 220,
      scales: { x: { time: true } },
      // Nodes report at their own instants: each series spans the others' points (spanGaps).
      series: [{}, ...plot.nodes.map((n, i) => ({ label: `node ${n}`, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true }))],
      axes: [{}, { size: 80 }],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          for (const line of plot.lines) {
            const y = u.valToPos(line.value, 'y', true);
            if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
            ctx.save();
            ctx.strokeStyle = line.colour;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.restore();
          }
          this.drawn++;
        }],
      },
    };
    plot.chart = new uPlot(opts, this.data(plot), plot.el);
  }

  /** uPlot's aligned data: one time axis (seconds), one column per node (null where absent). */
  data(plot) {
    const times = [...new Set(plot.nodes.flatMap((n) => plot.points.get(n)[0]))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const columns = plot.nodes.map((n) => {
      const col = new Array(times.length).fill(null);
      const [ts, vs] = plot.points.get(n);
      ts.forEach((t, i) => (col[index.get(t)] = vs[i]));
      return col;
    });
    // Limits stay in view: the y range covers them when the data comes near.
    return [times, ...columns];
  }

  point(plot, node, tMs, value) {
    if (!plot.points.has(node)) {
      plot.nodes.push(node);
      plot.points.set(node, [[], []]);
      plot.needsRebuild = true;
    }
    const [ts, vs] = plot.points.get(node);
    ts.push(tMs / 1000);
    vs.push(value);
    if (ts.length > LIVE_POINTS && this.mode === 'live') {
      ts.shift();
      vs.shift();
    }
  }

  /** A housekeeping record arrived (live mode only). */
  housekeeping(node, tMs, channels) {
    if (this.mode !== 'live') return;
    for (const [channel, plot] of this.plots) {
      if (channels[channel] === undefined) continue;
      this.point(plot, node, tMs, channels[channel]);
      this.schedule(channel);
    }
  }

  schedule(channel) {
    this.dirty.add(channel);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      for (const c of this.dirty) {
        const plot = this.plots.get(c);
        if (!plot) continue;
        if (plot.needsRebuild) {
          plot.needsRebuild = false;
          this.rebuild(c);
        } else plot.chart.setData(this.data(plot));
      }
      this.dirty.clear();
    });
  }

  /** Loads [fromMs, toMs] of every plotted channel from the archive. */
  async replay(fromMs, toMs) {
    this.mode = 'replay';
    for (const [channel, plot] of this.plots) {
      const samples = await api(`/api/samples?channel=${encodeURIComponent(channel)}&from=${fromMs}&to=${toMs}`);
      plot.nodes = [];
      plot.points = new Map();
      for (const s of samples) this.point(plot, s.node, s.tMs, s.value);
      plot.needsRebuild = false;
      this.rebuild(channel);
    }
  }

  live() {
    this.mode = 'live';
    for (const [channel, plot] of this.plots) {
      plot.nodes = [];
      plot.points = new Map();
      this.rebuild(channel);
    }
  }
}
