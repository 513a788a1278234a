// Record files on a real file system: two CRC-32C copies, repaired from each other.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frameRecord, RecordFile, unframeRecord } from '../../flight/cmd/record-file.js';

const payload = new TextEncoder().encode('parameters, keys, replay windows');

function fresh(): RecordFile {
  return new RecordFile(join(mkdtempSync(join(tmpdir(), 'tern-rec-')), 'thing.rec'));
}

function flip(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at]! ^= 0x10;
  writeFileSync(path, bytes);
}

describe('record file', () => {
  it('writes two identical framed copies and reads the payload back', () => {
    const file = fresh();
    expect(file.read()).toEqual({ status: 'absent' });
    file.write(payload);
    expect(readFileSync(file.path)).toEqual(readFileSync(file.backup));
    const read = file.read();
    expect(read.status).toBe('ok');
    expect(Buffer.from((read as { payload: Uint8Array }).payload).toString()).toBe('parameters, keys, replay windows');
  });

  it('writes the same two copies without blocking the event loop (writeAsync), leaving no temporary file', async () => {
    const sync = fresh();
    const async = fresh();
    sync.write(payload);
    await async.writeAsync(payload);
    expect(readFileSync(async.path)).toEqual(readFileSync(sync.path));
    expect(readFileSync(async.backup)).toEqual(readFileSync(sync.backup));
    expect(readdirSync(dirname(async.path)).sort()).toEqual(['thing.rec', 'thing.rec.bak']);
  });

  it('restores a corrupt primary from the backup and rewrites it', () => {
    const file = fresh();
    file.write(payload);
    flip(file.path, 12);
    const read = file.read();
    expect(read).toMatchObject({ status: 'recovered', from: 'backup' });
    expect((read as { problem: string }).problem).toMatch(/primary CRC-32C mismatch/);
    expect(readFileSync(file.path)).toEqual(readFileSync(file.backup));
    expect(file.read().status).toBe('ok');
  });

  it('restores a corrupt or missing backup from the primary', () => {
    const file = fresh();
    file.write(payload);
    flip(file.backup, 2);
    expect(file.read()).toMatchObject({ status: 'recovered', from: 'primary' });
    expect(readFileSync(file.path)).toEqual(readFileSync(file.backup));
  });

  it('after a power loss between the two writes, keeps the new primary and completes the backup', () => {
    const file = fresh();
    file.write(payload);
    const newer = new TextEncoder().encode('newer');
    writeFileSync(file.path, frameRecord(newer)); // the primary was replaced, the backup not yet
    const read = file.read();
    expect(read.status).toBe('ok');
    expect(Buffer.from((read as { payload: Uint8Array }).payload).toString()).toBe('newer');
    expect(readFileSync(file.backup)).toEqual(readFileSync(file.path));
  });

  it('reports both copies lost, and rejects content the caller finds invalid', () => {
    const file = fresh();
    file.write(payload);
    flip(file.path, 12);
    writeFileSync(file.backup, Buffer.from('TREC'));
    const read = file.read();
    expect(read.status).toBe('lost');
    expect((read as { problem: string }).problem).toMatch(/^primary CRC-32C mismatch .*, backup 4 bytes is shorter than a record$/);

    const other = fresh();
    other.write(payload);
    expect(other.read(() => 'not what I wrote').status).toBe('lost');
    expect(existsSync(other.backup)).toBe(true);
  });

  it('names what is wrong with a damaged copy', () => {
    const framed = frameRecord(payload);
    expect(unframeRecord(framed.subarray(0, 5))).toMatch(/shorter than a record/);
    expect(unframeRecord(Uint8Array.of(1, 2, 3, 4, ...framed.subarray(4)))).toMatch(/bad magic/);
    expect(unframeRecord(framed.subarray(0, framed.length - 1))).toMatch(/length field/);
  });
});
