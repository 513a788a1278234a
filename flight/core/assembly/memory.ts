// The core uses the stub runtime: memory is reserved once at load time and never freed, which
// is what flight code wants anyway (no allocation after initialisation).

/** Reserves `size` bytes of linear memory, 16-byte aligned for v128 loads. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}
