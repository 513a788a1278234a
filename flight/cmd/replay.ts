// Anti-replay: each operator numbers its commands 1, 2, 3, ... A command is accepted once if its
// number is above the highest seen, or within WINDOW below it and not seen yet (bundles relayed
// over different paths arrive out of order), tracked with a 64-bit bitmap as IPsec does
// (RFC 4303 section 3.4.3). The state is persisted (record file, two copies) before a command
// runs, so a replay is refused after a reboot too.
import { Encoder } from 'cbor-x';
import { join } from 'node:path';
import type { TmrBank, TmrCell } from '../ecc/tmr.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CMD_EVENTS } from './dictionary.js';
import { Replay } from './errors.js';
import { RecordFile } from './record-file.js';

export const REPLAY_WINDOW = 64;
const FORMAT = 1;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

interface OperatorWindow {
  /** Highest sequence number accepted (the window head; a TMR scalar when protected). */
  high: number;
  /** Bit i set: sequence number high - i was accepted (bit 0 is high itself). */
  seen: bigint;
}

const MASK = (1n << BigInt(REPLAY_WINDOW)) - 1n;

/** The window head of each operator as a TMR scalar: one flipped bit must not reopen the window. */
export const REPLAY_HEADS_CAPACITY = 256;

export class ReplayGuard {
  private readonly windows = new Map<number, OperatorWindow>();
  private readonly file: RecordFile;
  private heads: TmrBank | undefined;
  private readonly headCells = new Map<number, TmrCell>();

  constructor(dataDir: string, events: EventLog, recoveries: Channel) {
    this.file = new RecordFile(join(dataDir, 'replay.rec'));
    const read = this.file.read((payload) => {
      const decoded = decode(payload);
      return typeof decoded === 'string' ? decoded : undefined;
    });
    if (read.status === 'lost') {
      // Nothing better exists: commands still need their signature and an expiry no further
      // than cmd.maxLifetimeS ahead, which bounds what a captured command can still do.
      events.emit(CMD_EVENTS.recordLost, { file: this.file.path, problem: read.problem, fallback: 'replay windows restart empty' });
      return;
    }
    if (read.status === 'absent') return;
    if (read.status === 'recovered') {
      recoveries.add();
      events.emit(CMD_EVENTS.recordRecovered, { file: this.file.path, problem: read.problem, from: read.from });
    }
    for (const [operator, window] of decode(read.payload) as Map<number, OperatorWindow>) this.windows.set(operator, window);
  }

  /**
   * Keeps every window head in `bank` from now on: read by vote on every check. A head without
   * majority reads as +Infinity, refusing that operator's commands (the bank has reported it and
   * sent the node to SAFE) rather than accepting a replay.
   */
  protect(bank: TmrBank): void {
    this.heads = bank;
    for (const [operator, window] of this.windows) this.headCells.set(operator, bank.cell(`op${operator}`, window.high));
  }

  private head(operator: number, window: OperatorWindow): number {
    const cell = this.headCells.get(operator);
    return cell ? cell.getOr(Infinity) : window.high;
  }

  /** Throws Replay if `seq` of `operator` was used or fell out of the window; changes nothing. */
  check(operator: number, seq: number): void {
    if (seq === 0) throw new Replay(operator, seq, 'sequence numbers start at 1');
    const window = this.windows.get(operator);
    if (!window) return;
    const high = this.head(operator, window);
    if (seq > high) return;
    const age = high - seq;
    if (age >= REPLAY_WINDOW) throw new Replay(operator, seq, `below the accept window (highest ${high})`);
    if ((window.seen >> BigInt(age)) & 1n) throw new Replay(operator, seq, 'already used');
  }

  /** Records `seq` as used and persists it durably; call after check() and verification. */
  commit(operator: number, seq: number): void {
    this.check(operator, seq);
    const known = this.windows.get(operator);
    const window = known ? { high: this.head(operator, known), seen: known.seen } : { high: 0, seen: 0n };
    const next: OperatorWindow = seq > window.high
      ? { high: seq, seen: ((window.seen << BigInt(Math.min(seq - window.high, REPLAY_WINDOW))) | 1n) & MASK }
      : { high: window.high, seen: window.seen | (1n << BigInt(window.high - seq)) };
    // A new operator's head cell first: a full bank refuses the command before anything changes.
    let cell = this.headCells.get(operator);
    if (this.heads && !cell) this.headCells.set(operator, (cell = this.heads.cell(`op${operator}`, window.high)));
    const all = new Map(this.windows).set(operator, next);
    this.file.write(encode(all));
    this.windows.set(operator, next);
    cell?.set(next.high);
  }

  /** Highest sequence number accepted from `operator` (0: none). */
  high(operator: number): number {
    const window = this.windows.get(operator);
    return window ? this.head(operator, window) : 0;
  }
}

function encode(windows: Map<number, OperatorWindow>): Uint8Array {
  const list = [...windows].map(([operator, w]) => {
    const seen = new Uint8Array(8);
    new DataView(seen.buffer).setBigUint64(0, w.seen);
    return [operator, w.high, seen];
  });
  return cbor.encode([FORMAT, list]);
}

function decode(payload: Uint8Array): Map<number, OperatorWindow> | string {
  let record: unknown;
  try {
    record = cbor.decode(payload);
  } catch (error) {
    return `not CBOR (${(error as Error).message})`;
  }
  if (!Array.isArray(record) || record[0] !== FORMAT || !Array.isArray(record[1])) return 'not a replay record';
  const out = new Map<number, OperatorWindow>();
  for (const entry of record[1] as unknown[]) {
    if (!Array.isArray(entry) || !Number.isSafeInteger(entry[0]) || !Number.isSafeInteger(entry[1]) ||
      !(entry[2] instanceof Uint8Array) || entry[2].length !== 8) return 'a malformed operator window';
    const seen = new DataView(entry[2].buffer, entry[2].byteOffset, 8).getBigUint64(0);
    out.set(entry[0] as number, { high: entry[1] as number, seen });
  }
  return out;
}
