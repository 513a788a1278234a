// Bundle decode and encode (RFC 9171 section 4), one module per role: bundle-decode.ts (bytes to
// a checked Bundle), bundle-encode.ts (new bundles and blocks, and bundles assembled from encoded
// blocks), bundle-checks.ts (the checks across blocks both share) and block-crc.ts. decodeBundle()
// checks structure only: CBOR well-formedness, block layout, CRCs, EIDs, the extension blocks Tern
// reads and the keyless BPSec rules. What to do with a valid bundle (expired, hop limit, unknown
// blocks, missing CRC) is policy, in policy.ts. A decoded bundle keeps views into the bytes it was
// given: do not reuse that buffer while the bundle is alive.
export { decodeBundle, readBlocks } from './bundle-decode.js';
export { assembleBundle, createBundle, encodeBlock, encodePrimary, type BlockSpec, type NewBundle, type NewPrimary } from './bundle-encode.js';
