// Runs a python3 that has torch for the interop tests (found per OS by scripts/lib/tools.js:
// DATAVER_PYTHON, the repository's .venv, Debian's /usr/bin/python3, then PATH); when none has
// torch, the tests that need it fail with the command that installs it on this OS.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const { locatePython } = require('../../../../scripts/lib/tools.js') as {
  locatePython(modules: string[]): { path?: string; tried?: string[]; hint?: string };
};

// An interpreter with torchvision too is preferred: the course-recipe parity tests use it.
const withVision = locatePython(['torch', 'torchvision']);
const torch = withVision.path ? withVision : locatePython(['torch']);
/** The interpreter the tests run; a placeholder name when none has torch (requireTorch says so first). */
export const PYTHON: string = torch.path ?? (process.platform === 'win32' ? 'python' : 'python3');
const HELPER = path.join(__dirname, 'torch_interop.py');

/** Throws with this OS's install command when no Python interpreter here can import torch. */
export function requireTorch(): void {
  if (torch.path) return;
  const tried = torch.tried?.length ? torch.tried.join(', ') : 'none found';
  throw new Error(
    `PyTorch is required for the .pt interop tests but no python3 here can import torch (tried: ${tried}); install it with: ${torch.hint} — or point DATAVER_PYTHON at an interpreter that has it`,
  );
}

/** Throws with this OS's install command when no Python interpreter here can import torch and torchvision. */
export function requireTorchvision(): void {
  requireTorch();
  if (withVision.path) return;
  throw new Error(
    `torchvision is required for the course-recipe parity tests but ${PYTHON} cannot import it; install it with: ${withVision.hint} — or point DATAVER_PYTHON at an interpreter that has torch and torchvision`,
  );
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
