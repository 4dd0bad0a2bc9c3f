// Picks the tfjs backend: tfjs-node when installed, else wasm with our kernel fixes, else plain cpu.
// `describeBackend` answers without loading tfjs, so `trainer backend` is instant.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { simdWasmFile } from './simd.js';

/** A backend name as the CLI and metadata spell it. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** What the user asked for: `auto` picks the fastest that loads. */
export type BackendPreference = 'auto' | BackendName;

/** Which backend would run and why. */
export interface BackendChoice {
  name: BackendName;
  reason: string;
  /** Backends that were considered and skipped, with why. */
  skipped: Array<{ name: BackendName; reason: string }>;
}

const localRequire = createRequire(__filename);

function resolvable(id: string): string | null {
  try {
    return localRequire.resolve(id);
  } catch {
    return null;
  }
}

/**
 * Decides which backend `initBackend` would use, without loading tfjs.
 *
 * @example
 * ```ts
 * const { name, reason } = describeBackend('auto'); // { name: 'wasm', reason: '…' }
 * ```
 */
export function describeBackend(preference: BackendPreference = envPreference()): BackendChoice {
  const skipped: BackendChoice['skipped'] = [];
  const nodeAvailable = resolvable('@tensorflow/tfjs-node') !== null;
  const wasmDir = wasmDirectory();
  if (preference === 'tensorflow' || preference === 'auto') {
    if (nodeAvailable) {
      return {
        name: 'tensorflow',
        reason: '@tensorflow/tfjs-node is installed (native TensorFlow)',
        skipped,
      };
    }
    const why = '@tensorflow/tfjs-node is not installed (optional dependency; it needs libtensorflow)';
    if (preference === 'tensorflow') throw new Error(`backend tensorflow unavailable: ${why}`);
    skipped.push({ name: 'tensorflow', reason: why });
  }
  if (preference === 'wasm' || preference === 'auto') {
    if (wasmDir) {
      // The trainer's own kernels run as WASM SIMD when built, else as their (slower) JS reference loops.
      const own = fs.existsSync(simdWasmFile())
        ? "the trainer's WASM SIMD kernels"
        : "the trainer's kernels as JS loops (dist/wasm/kernels.wasm is missing: run `npm run build`)";
      return {
        name: 'wasm',
        reason: `@tensorflow/tfjs-backend-wasm (SIMD, XNNPACK) with ${own} for batch norm + LeakyReLU + max-pool, convolution gradients, the loss, Adam and augmentation`,
        skipped,
      };
    }
    const why = '@tensorflow/tfjs-backend-wasm or its .wasm files are missing';
    if (preference === 'wasm') throw new Error(`backend wasm unavailable: ${why}`);
    skipped.push({ name: 'wasm', reason: why });
  }
  return {
    name: 'cpu',
    reason: preference === 'cpu' ? 'requested' : 'fallback: plain JavaScript (slow)',
    skipped,
  };
}

function envPreference(): BackendPreference {
  const v = process.env['TRAINER_BACKEND'];
  return v === 'wasm' || v === 'cpu' || v === 'tensorflow' ? v : 'auto';
}

/** Folder that holds the tfjs-backend-wasm `.wasm` binaries, or null.
 *
 * @example
 * ```ts
 * wasmDirectory(); // '/…/node_modules/@tensorflow/tfjs-backend-wasm/dist'
 * ```
 */
export function wasmDirectory(): string | null {
  const main = resolvable('@tensorflow/tfjs-backend-wasm');
  if (!main) return null;
  const dir = path.dirname(main);
  const candidate = path.basename(dir) === 'dist' ? dir : path.join(dir, 'dist');
  const simd = resolvable(path.join(candidate, 'tfjs-backend-wasm-simd.wasm'));
  return simd ? candidate : null;
}

let active: BackendChoice | null = null;

/**
 * Loads tfjs and activates the chosen backend (once per process), registering the wasm kernel fixes.
 *
 * @example
 * ```ts
 * const choice = await initBackend('auto');
 * console.log(choice.name); // 'wasm'
 * ```
 */
export async function initBackend(preference: BackendPreference = envPreference()): Promise<BackendChoice> {
  const choice = describeBackend(preference);
  if (active && active.name === choice.name) return active;
  const tf = await import('@tensorflow/tfjs');
  if (choice.name === 'tensorflow') {
    localRequire('@tensorflow/tfjs-node');
  } else if (choice.name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!active) {
      try {
        wasm.setWasmPaths(`${wasmDirectory()}${path.sep}`);
      } catch {
        // Already initialised in this process (paths can be set once): keep the first setting.
      }
    }
    // Threads need a worker loader that Node lacks; the threaded binary gave little anyway.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const { registerWasmKernels } = await import('./wasm-kernels.js');
    registerWasmKernels();
  }
  const ok = await tf.setBackend(choice.name);
  if (!ok) throw new Error(`could not initialise the ${choice.name} backend`);
  await tf.ready();
  active = choice;
  return choice;
}
