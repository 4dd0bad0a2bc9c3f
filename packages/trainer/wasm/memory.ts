// Addressing helpers shared by the trainer's AssemblyScript kernels (kernels.ts, winograd.ts): every
// tensor is a byte offset into tfjs-wasm's heap.

/** The byte address of float32 element `index` of the array at `base`. */
export function f32At(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}
