// The LTP engine on a virtual clock: each recovery path of RFC 5326 is forced by losing exactly
// the segment it recovers from, and checked by what the engines then send and deliver.
import { describe, expect, it } from 'vitest';
import { LtpBlockTooLargeError, LtpSessionCancelledError } from '../../flight/cla/ltp/errors.js';
import { CANCEL, encodeSegment, SEGMENT } from '../../flight/cla/ltp/wire.js';
import { Prng } from '../support/prng.js';
import { patternBlock, VirtualLink } from './ltp-support.js';

const settle = <T>(p: Promise<T>): { done: boolean; error?: unknown } => {
  const state: { done: boolean; error?: unknown } = { done: false };
  p.then(() => (state.done = true), (error: unknown) => {
    state.done = true;
    state.error = error;
  });
  return state;
};

describe('LTP engine', () => {
  it('sends a block as red segments ending in a checkpoint, and resolves on the full report', async () => {
    const link = new VirtualLink();
    const block = patternBlock(350);
    const sent = settle(link.a.engine.send(block, 2));
    await link.run(20);
    expect(sent).toEqual({ done: true });
    expect(link.b.delivered).toEqual([block]);
    const kinds = link.log.map(({ from, segment }) => `${from}:${segment.kind}${segment.kind === 'data' ? segment.type : ''}`);
    // Segments of at most 100 bytes, headers included (as ION's max segment size): 4 or 5 as the
    // random session number's SDNV is long, the last a checkpoint ending the block; report; its ack.
    expect(kinds.join(' ')).toMatch(/^(1:data0 ){3,4}1:data3 2:report 1:report-ack$/);
    expect(link.log.filter((l) => l.segment.kind === 'data').map((l) => encodeSegment(l.segment).length).every((n) => n <= 100)).toBe(true);
    expect(link.a.channels.blocksOut.value).toBe(1);
    expect(link.b.channels.blocksIn.value).toBe(1);
    expect(link.b.channels.bytesIn.value).toBe(350);
    expect(link.a.engine.openSessions).toEqual({ exports: 0, imports: 0 });
    expect(link.b.engine.openSessions).toEqual({ exports: 0, imports: 0 });
  });

  it('sends again only the ranges a report shows missing, ending in a new checkpoint', async () => {
    const link = new VirtualLink();
    let seen = 0;
    link.drop = (s) => s.kind === 'data' && [1, 2].includes(seen++); // the 2nd and 3rd data segments
    const block = patternBlock(350, 7);
    const sent = settle(link.a.engine.send(block, 2));
    await link.run(20);
    expect(sent).toEqual({ done: true });
    expect(link.b.delivered).toEqual([block]);
    const data = link.log.flatMap((l) => (l.segment.kind === 'data' ? [l.segment] : []));
    const firstPass = data.findIndex((d) => d.type === SEGMENT.redCheckpointEob) + 1;
    // Only the lost range [2nd, 4th) goes again, in segments within the size, the last a checkpoint.
    const again = data.slice(firstPass);
    expect(again[0]!.offset).toBe(data[1]!.offset);
    expect(again.at(-1)!.offset + again.at(-1)!.data.length).toBe(data[3]!.offset);
    expect(again.map((d) => d.type)).toEqual([...again.slice(1).map(() => 0), SEGMENT.redCheckpoint]);
    expect(data.every((d) => encodeSegment(d).length <= 100)).toBe(true);
    expect(link.a.channels.dataRetransmitted.value).toBe(again.length);
    expect(link.a.channels.reportsReceived.value).toBe(2);
  });

  it('sends a lost checkpoint again when its timer expires (2 x light time + margin)', async () => {
    const link = new VirtualLink();
    let dropped = false;
    link.drop = (s) => s.kind === 'data' && s.checkpoint !== undefined && !dropped && (dropped = true);
    const sent = settle(link.a.engine.send(patternBlock(150), 2));
    await link.run(45);
    expect(sent.done).toBe(false);
    expect(link.a.channels.checkpointRetransmits.value).toBe(0);
    await link.run(10); // the timer is 2 x 10 + 30 = 50 ms
    expect(link.a.channels.checkpointRetransmits.value).toBe(1);
    expect(sent).toEqual({ done: true });
    expect(link.b.delivered).toHaveLength(1);
  });

  it('sends a report again until acknowledged, and a lost final report is recovered without a second delivery', async () => {
    const link = new VirtualLink();
    let reports = 0;
    let acks = 0;
    link.drop = (s) => (s.kind === 'report' && reports++ < 1) || (s.kind === 'report-ack' && acks++ < 1);
    const sent = settle(link.a.engine.send(patternBlock(120), 2));
    await link.run(300);
    expect(sent).toEqual({ done: true });
    expect(link.b.delivered).toHaveLength(1);
    expect(link.b.channels.reportRetransmits.value + link.a.channels.checkpointRetransmits.value).toBeGreaterThan(0);
    expect(link.b.engine.openSessions.imports).toBe(0);
  });

  it('recovers lost reports by sending the checkpoint again, without a second delivery', async () => {
    const link = new VirtualLink();
    // Every report from B is lost until A has sent its checkpoint three times.
    link.drop = (s) => s.kind === 'report' && link.a.channels.checkpointRetransmits.value < 2;
    const sent = settle(link.a.engine.send(patternBlock(100), 2));
    await link.run(400);
    expect(sent).toEqual({ done: true });
    expect(link.b.delivered).toHaveLength(1);
    expect(link.b.channels.duplicates.value).toBeGreaterThan(0);
  });

  it('answers a checkpoint the network delayed past the session from memory, never delivering twice', async () => {
    const link = new VirtualLink();
    const sent = settle(link.a.engine.send(patternBlock(80), 2));
    await link.run(20);
    expect(sent).toEqual({ done: true });
    expect(link.b.engine.openSessions.imports).toBe(0);
    // The one segment was the whole block and its checkpoint: a late copy of it arrives.
    const checkpoint = link.log.find((l) => l.segment.kind === 'data')!.segment;
    expect(checkpoint).toMatchObject({ type: SEGMENT.redCheckpointEob, offset: 0 });
    const reportsBefore = link.log.filter((l) => l.from === 2 && l.segment.kind === 'report').length;
    link.b.engine.receive(encodeSegment(checkpoint), 'late');
    await link.run(20);
    expect(link.b.delivered).toHaveLength(1);
    const reports = link.log.filter((l) => l.from === 2 && l.segment.kind === 'report');
    expect(reports).toHaveLength(reportsBefore + 1);
    expect(reports.at(-1)!.segment).toMatchObject({ upperBound: 80, claims: [{ offset: 0, length: 80 }] });
    expect(link.b.engine.openSessions.imports).toBe(0);
  });

  it('cancels a session whose checkpoints go unanswered maxRetries times (RLEXC) and frees it', async () => {
    const link = new VirtualLink();
    link.drop = (s, from) => from === 2 || s.kind === 'cancel-ack';
    const sent = settle(link.a.engine.send(patternBlock(50), 2));
    await link.run(50 * 4 + 20);
    expect(sent.error).toBeInstanceOf(LtpSessionCancelledError);
    expect((sent.error as LtpSessionCancelledError).reason).toBe(CANCEL.retransmitLimit);
    expect(link.a.channels.checkpointRetransmits.value).toBe(3);
    await link.run(50 * 4 + 20); // the CS itself is given up after the same retries
    expect(link.a.engine.openSessions.exports).toBe(0);
    expect(link.a.channels.cancelsSent.value).toBe(1);
  });

  it('cancels from the receiver when the agent refuses the block: the send rejects', async () => {
    const link = new VirtualLink();
    link.b.verdict = () => Promise.reject(new Error('store full'));
    const sent = settle(link.a.engine.send(patternBlock(80), 2));
    await link.run(20);
    expect(sent.error).toBeInstanceOf(LtpSessionCancelledError);
    expect((sent.error as LtpSessionCancelledError).by).toBe('receiver');
    expect(link.log.some((l) => l.segment.kind === 'cancel-ack' && !l.segment.toSender)).toBe(true);
    expect(link.b.engine.openSessions.imports).toBe(0);
  });

  it('a silent sender costs a session timeout, not memory', async () => {
    const link = new VirtualLink({ sessionTimeoutMs: 1000 });
    // Only the first two data segments ever arrive; the sender then goes silent.
    link.drop = (s, from) => from === 1 && !(s.kind === 'data' && s.offset < 200 && link.a.channels.segmentsOut.value <= 2);
    void link.a.engine.send(patternBlock(500), 2).catch(() => undefined);
    await link.run(20);
    expect(link.b.engine.openSessions.imports).toBe(1);
    link.a.engine.close();
    await link.run(1100, 50);
    expect(link.b.engine.openSessions.imports).toBe(0);
    expect(link.b.channels.sessionTimeouts.value).toBe(1);
    expect(link.b.delivered).toHaveLength(0);
  });

  it('limits import sessions and queues sends beyond maxExportSessions', async () => {
    const link = new VirtualLink({ maxImportSessions: 2, maxExportSessions: 8 });
    link.drop = (s) => s.kind === 'data' && s.checkpoint !== undefined && link.timers.nowMs() < 10; // keep sessions open
    const sends = [0, 1, 2].map((i) => settle(link.a.engine.send(patternBlock(150, i), 2)));
    await link.run(5);
    expect(link.b.channels.refusedSessions.value).toBe(1);
    expect(sends.filter((s) => s.error instanceof LtpSessionCancelledError)).toHaveLength(1);
    await link.run(200);
    expect(sends.filter((s) => s.done && !s.error)).toHaveLength(2);

    const queued = new VirtualLink({ maxExportSessions: 1 });
    const two = [settle(queued.a.engine.send(patternBlock(150, 1), 2)), settle(queued.a.engine.send(patternBlock(150, 2), 2))];
    expect(queued.a.engine.openSessions.exports).toBe(1); // the second waits for the first
    expect(queued.log.filter((l) => l.segment.kind === 'data' && l.segment.checkpoint)).toHaveLength(1);
    await queued.run(20);
    expect(two.every((s) => s.done && !s.error)).toBe(true);
    expect(queued.b.delivered).toHaveLength(2);
  });

  it('while the link is down, timers wait instead of spending retries', async () => {
    const link = new VirtualLink();
    link.a.linkUp = false;
    link.drop = () => !link.a.linkUp;
    const sent = settle(link.a.engine.send(patternBlock(100), 2));
    await link.run(1000, 25);
    expect(sent.done).toBe(false);
    expect(link.a.channels.checkpointRetransmits.value).toBe(0);
    link.a.linkUp = true;
    await link.run(100);
    expect(sent).toEqual({ done: true });
  });

  it('refuses empty and oversize blocks with a typed error', async () => {
    const link = new VirtualLink({ maxBlockBytes: 1000 });
    await expect(link.a.engine.send(new Uint8Array(1001), 2)).rejects.toBeInstanceOf(LtpBlockTooLargeError);
    await expect(link.a.engine.send(new Uint8Array(0), 2)).rejects.toBeInstanceOf(LtpBlockTooLargeError);
  });

  it('takes 100,000 mutated segments of live sessions without a throw, and forgets them all', async () => {
    const link = new VirtualLink({ maxImportSessions: 16, sessionTimeoutMs: 1000 });
    const rng = new Prng(0x5e6);
    // Real segments of a few sessions both ways, as seeds for mutation.
    link.drop = () => true;
    for (let i = 0; i < 4; i++) void link.a.engine.send(patternBlock(300, i), 2).catch(() => undefined);
    await link.run(60);
    const seeds = link.log.map((l) => ({ to: l.from === 1 ? link.b : link.a, bytes: encodeSegment(l.segment) }));
    seeds.push({ to: link.a, bytes: encodeSegment({ kind: 'report', session: link.log[0]!.segment.session, serial: 5, checkpointSerial: 1, upperBound: 300, lowerBound: 0, claims: [{ offset: 0, length: 100 }] }) });
    link.a.engine.close();
    for (let i = 0; i < 100_000; i++) {
      const seed = seeds[rng.below(seeds.length)]!;
      const bytes = Uint8Array.from(seed.bytes);
      for (let k = 0; k <= rng.below(3); k++) bytes[rng.below(bytes.length)]! ^= 1 << rng.below(8);
      seed.to.engine.receive(rng.below(8) === 0 ? bytes.subarray(0, rng.below(bytes.length)) : bytes, 'fuzz');
      expect(link.b.engine.openSessions.imports).toBeLessThanOrEqual(16);
    }
    const malformed = link.a.channels.malformed.value + link.b.channels.malformed.value;
    expect(malformed).toBeGreaterThan(10_000);
    expect(link.b.engine.errorCounts.size).toBeGreaterThan(3);
    // Whatever the mutations opened is gone after the session timeout: no memory stays.
    link.wire.length = 0;
    await link.run(2000, 100);
    expect(link.b.engine.openSessions.imports).toBe(0);
    // 100,000 inputs take about 20 s on an idle core and several times that on a loaded machine.
  }, 300_000);
});
