// Typed access to the tfjs wasm backend behind a kernel call: heap views, pointers, calls of its stock
// kernels, and this package's SIMD kernels instantiated over its heap (or the JS reference loops, when
// they are asked for or the built module is missing).
import { types } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { HeapScratch, loadSimdKernels, type SimdExports, type WasmHeapModule, wasmApi } from './simd.js';

type DataId = object;

/** The part of the wasm backend the kernels use (its class is not part of the public typings). */
export interface WasmBackendLike {
  wasm: WasmHeapModule;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  getMemoryOffset(dataId: DataId): number;
  disposeData(dataId: DataId, force?: boolean): boolean;
  incRef(dataId: DataId): void;
}

function isHeapModule(value: unknown): value is WasmHeapModule {
  if (typeof value !== 'object' || value === null) return false;
  if (!('_malloc' in value && '_free' in value && 'asm' in value)) return false;
  const { asm } = value;
  return (
    typeof value._malloc === 'function' &&
    typeof value._free === 'function' &&
    typeof asm === 'object' &&
    asm !== null &&
    'memory' in asm &&
    asm.memory instanceof wasmApi().Memory
  );
}

/**
 * The wasm backend behind a kernel call's untyped `backend` argument.
 *
 * @example
 * ```ts
 * const backend = wasmBackend(args.backend);
 * ```
 */
export function wasmBackend(backend: object): WasmBackendLike {
  const isWasm =
    'wasm' in backend &&
    isHeapModule(backend.wasm) &&
    'makeOutput' in backend &&
    typeof backend.makeOutput === 'function' &&
    'typedArrayFromHeap' in backend &&
    typeof backend.typedArrayFromHeap === 'function' &&
    'getMemoryOffset' in backend &&
    typeof backend.getMemoryOffset === 'function' &&
    'disposeData' in backend &&
    typeof backend.disposeData === 'function' &&
    'incRef' in backend &&
    typeof backend.incRef === 'function';
  if (!isWasm) throw new Error('these kernels run on the wasm backend only');
  // Checked above: the members these kernels call are there.
  return backend as WasmBackendLike;
}

/**
 * A float32 view of a tensor on the heap (taken after the last allocation: heap growth detaches views).
 *
 * @example
 * ```ts
 * const x = f32(backend, input(args.inputs, 'x'));
 * ```
 */
export function f32(backend: WasmBackendLike, t: tf.TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!types.isFloat32Array(view)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return view;
}

/**
 * An int32 view of a tensor on the heap.
 *
 * @example
 * ```ts
 * const argmax = i32(backend, input(args.inputs, 'argmax'));
 * ```
 */
export function i32(backend: WasmBackendLike, t: tf.TensorInfo): Int32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!types.isInt32Array(view)) throw new Error(`expected an int32 tensor, got ${t.dtype}`);
  return view;
}

/**
 * The heap address of a tensor's data.
 *
 * @example
 * ```ts
 * simd.bnBackward2(ptr(backend, x), positions, c, a, b, d, ptr(backend, dx));
 * ```
 */
export function ptr(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** Which implementation the trainer's own kernels run: the SIMD module or the JS reference loops. */
export type KernelImplementation = 'simd' | 'reference';

let wanted: KernelImplementation = process.env['TRAINER_KERNELS'] === 'reference' ? 'reference' : 'simd';
let loadError: string | null = null;

/**
 * Chooses the implementation of the trainer's own kernels (tests compare one with the other).
 *
 * @example
 * ```ts
 * setKernelImplementation('reference');
 * ```
 */
export function setKernelImplementation(kind: KernelImplementation): void {
  wanted = kind;
}

/** The SIMD kernels and a scratch block, per backend instance. */
export interface SimdContext {
  kernels: SimdExports;
  scratch: HeapScratch;
  heap: WasmHeapModule;
}

const contexts = new WeakMap<object, SimdContext | null>();

/**
 * The SIMD kernels over this backend's heap, or null when the reference loops run (asked for, or
 * kernels.wasm could not be loaded: {@link simdLoadError} says why).
 *
 * @example
 * ```ts
 * const simd = simdFor(backend);
 * if (simd) simd.kernels.bnBackward2(...); else bnBackward2Reference(...);
 * ```
 */
export function simdFor(backend: WasmBackendLike): SimdContext | null {
  if (wanted === 'reference') return null;
  let ctx = contexts.get(backend);
  if (ctx === undefined) {
    try {
      ctx = {
        kernels: loadSimdKernels(backend.wasm),
        scratch: new HeapScratch(backend.wasm),
        heap: backend.wasm,
      };
    } catch (error) {
      loadError = error instanceof Error ? error.message : String(error);
      ctx = null;
    }
    contexts.set(backend, ctx);
  }
  return ctx;
}

/**
 * Why the SIMD kernels are not in use, or null when they are (or have not been needed yet).
 *
 * @example
 * ```ts
 * if (simdLoadError()) log.warn(simdLoadError());
 * ```
 */
export function simdLoadError(): string | null {
  return wanted === 'reference' ? 'the JS reference kernels were asked for' : loadError;
}

/**
 * Splits one scratch reservation into 16-byte aligned regions of the given byte sizes.
 *
 * @example
 * ```ts
 * const [sums, coefs] = carve(simd.scratch, [n * c * 16, c * 12]);
 * ```
 */
export function carve(scratch: HeapScratch, sizes: readonly number[]): number[] {
  const aligned = sizes.map((s) => (s + 15) & ~15);
  let p = scratch.reserve(aligned.reduce((a, b) => a + b, 0));
  return aligned.map((s) => {
    const here = p;
    p += s;
    return here;
  });
}

/**
 * Runs a stock kernel of the wasm backend and returns its single output.
 *
 * @example
 * ```ts
 * const dw = callKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
 * ```
 */
export function callKernel(
  name: string,
  backend: WasmBackendLike,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${name} is missing`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned ${out.length} tensors, not one`);
  return out;
}
