// Downlink items as a node sends them, for the console's tests and benchmarks.
import type { DownlinkItem } from '../../gse/tlm.js';

export function hk(node: number, seq: number, channels: Record<string, number>, mode = 'NOMINAL'): DownlinkItem {
  return { kind: 'hk', record: { node, seq, frame: seq * 5, mode, channels } };
}

export function evt(node: number, name: string, severity: 'activity' | 'warning' | 'error', message: string, timeUs = 0): DownlinkItem {
  return { kind: 'evt', record: { node, id: 0x0500, name, severity, message, args: { note: message }, timeUs } };
}

export function rsp(node: number, command: string, status: 'executed' | 'pending' | 'rejected', digest: string, result?: unknown): DownlinkItem {
  return { kind: 'rsp', record: { node, status, source: 'ground', timeMs: Date.now(), command, digest, operator: 1, seq: 1, ...(result === undefined ? {} : { result }) } } as DownlinkItem;
}

/** A housekeeping record of `width` channels named ch.0 .. ch.<width-1>. */
export function wideHk(node: number, seq: number, width: number): DownlinkItem {
  const channels: Record<string, number> = {};
  for (let i = 0; i < width; i++) channels[`ch.${i}`] = seq * 0.5 + i;
  return hk(node, seq, channels);
}
