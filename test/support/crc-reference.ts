// Bitwise CRC references written from the definitions (reflected, init all ones, final XOR all
// ones), sharing no code with the WASM core's tables they check.

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), BPv7 CRC type 2. */
export function crc32cReference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-16/X.25 (reflected polynomial 0x8408), BPv7 CRC type 1. */
export function crc16X25Reference(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return (crc ^ 0xffff) & 0xffff;
}
