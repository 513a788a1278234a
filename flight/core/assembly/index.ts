// Entry of the Tern WASM core. Every kernel works on byte ranges of linear memory that the
// TypeScript side (flight/core/instance.ts) reserved once with `alloc`, so no call crosses the
// boundary per byte and steady state allocates nothing.
export { alloc } from "./memory";
export { crc32cUpdate, crc16X25Update } from "./crc";
export { rsEncode, rsDecode } from "./rs";
export { erasureParityMatrix, erasureRebuildMatrix, erasureApply } from "./erasure";
export { secdedEncode, secdedScan } from "./secded";
export { tmRandomise, tmFindSync } from "./tm-sync";
export { inferConv2d, inferDepthwiseConv2d } from "./infer/conv";
export { inferPool, inferAddMul, inferSoftmax, inferLogistic, inferQuantize, inferDequantize } from "./infer/elementwise";
export { inferDotPeak } from "./infer/peak";
