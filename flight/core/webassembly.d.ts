// Node 20 has the WebAssembly global but @types/node 20 does not declare it (lib "dom" would
// bring the whole browser with it). Only what flight/core/instance.ts touches is declared here.
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  /** What a trap (here: the stub runtime out of memory) throws. */
  class RuntimeError extends Error {}
}
