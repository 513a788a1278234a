// The golden copy of a protected region: a file every byte of which is covered by CCSDS
// RS(255,223) (16 damaged bytes per 255-byte codeword are corrected), with a CRC-32C over the
// data as the final word against a miscorrection. Written atomically (temporary file, fsync,
// rename, fsync of the directory), so a power loss leaves the old copy or the new one.
//
// File: a whole number of 255-byte codewords (conventional basis, I = 1, no fill). Their data
// symbols, concatenated, are a 16-byte header, the region's bytes, and zero padding:
//   magic "TERNGLD1" (8) | data length u32 LE | CRC-32C of the data u32 LE | data | zeros
import { readFileSync } from 'node:fs';
import { writeFileDurable } from '../durable.js';
import type { Core, RsCode } from '../core/wasm.js';
import { GoldenCopyError } from './errors.js';

const MAGIC = Buffer.from('TERNGLD1', 'latin1');
const HEADER = 16;
const RS: RsCode = { basis: 'conventional', interleave: 1, fill: 0 };
const DATA_PER_CODEWORD = 223;

export interface GoldenLoad {
  readonly data: Uint8Array;
  /** RS symbols that were damaged in the file (it has been rewritten clean when nonzero). */
  readonly repairedSymbols: number;
}

export class GoldenCopy {
  constructor(private readonly core: Core, readonly file: string) {}

  /** Replaces the file with `data`, durably. */
  write(data: Uint8Array): void {
    writeFileDurable(this.file, this.encode(data));
  }

  private encode(data: Uint8Array): Uint8Array {
    const payload = new Uint8Array(Math.ceil((HEADER + data.length) / DATA_PER_CODEWORD) * DATA_PER_CODEWORD);
    payload.set(MAGIC, 0);
    const header = new DataView(payload.buffer);
    header.setUint32(8, data.length, true);
    header.setUint32(12, this.core.crc32c(data), true);
    payload.set(data, HEADER);
    return this.core.rsEncode(payload, RS);
  }

  /** Reads and checks the file, correcting what RS parity can; a repaired file is rewritten.
   *  Throws GoldenCopyError if it is missing, malformed or damaged beyond correction. */
  load(): GoldenLoad {
    let raw: Uint8Array;
    try {
      raw = readFileSync(this.file);
    } catch (error) {
      throw new GoldenCopyError(this.file, `unreadable (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (raw.length === 0 || raw.length % 255 !== 0) {
      throw new GoldenCopyError(this.file, `${raw.length} bytes, not a whole number of 255-byte RS codewords`);
    }
    const decoded = this.core.rsDecode(raw, RS);
    if (decoded.uncorrectable.length > 0) {
      throw new GoldenCopyError(this.file, `${decoded.uncorrectable.length} RS codeword(s) uncorrectable, the first ${decoded.uncorrectable[0]}`);
    }
    const payload = decoded.data;
    if (!Buffer.from(payload.buffer, payload.byteOffset, MAGIC.length).equals(MAGIC)) {
      throw new GoldenCopyError(this.file, 'no TERNGLD1 header');
    }
    const header = new DataView(payload.buffer, payload.byteOffset);
    const length = header.getUint32(8, true);
    if (HEADER + length > payload.length) {
      throw new GoldenCopyError(this.file, `header says ${length} data bytes, the file holds at most ${payload.length - HEADER}`);
    }
    const data = payload.slice(HEADER, HEADER + length);
    if (this.core.crc32c(data) !== header.getUint32(12, true)) {
      throw new GoldenCopyError(this.file, 'CRC-32C of the data does not match (damage RS could not see)');
    }
    if (decoded.correctedSymbols > 0) writeFileDurable(this.file, decoded.codewords);
    return { data, repairedSymbols: decoded.correctedSymbols };
  }
}
