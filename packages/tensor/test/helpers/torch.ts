// Runs Debian's python3 with python3-torch for interop tests; fails loudly when torch is missing.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const PYTHON = '/usr/bin/python3';
const HELPER = path.join(__dirname, 'torch_interop.py');

/** Throws with the install command when /usr/bin/python3 cannot import torch. */
export function requireTorch(): void {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `PyTorch is required for the .pt interop tests but ${PYTHON} cannot import torch: run \`apt-get install -y python3-torch\`\n${r.stderr ?? r.error}`,
    );
  }
}

/** Runs the interop helper (`load DIR` or `save DIR`) and returns its stdout. */
export function runTorchHelper(mode: 'load' | 'save', dir: string): string {
  const r = spawnSync(PYTHON, [HELPER, mode, dir], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`torch helper ${mode} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs a Python snippet with torch and returns stdout. */
export function runPython(code: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Writes with torch.save a dict whose pickle calls os.system('touch <marker>') when loaded by
 * an unrestricted unpickler: the file must be refused and the marker must never appear.
 */
export function saveMaliciousPt(file: string, marker: string): void {
  runPython(
    `import os, sys, torch
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + sys.argv[2],))
torch.save({'x': torch.zeros(2), 'evil': Evil()}, sys.argv[1])`,
    [file, marker],
  );
}
