// Keeps tracked data out of git: each tracked output gets a `/path` line in
// the repository's root .gitignore (added once, removed by `dataver remove`).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';

/** An anchored .gitignore pattern that matches exactly this path (glob characters escaped). */
export function lineFor(repoPath: string): string {
  const escaped = repoPath.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ $/, '\\ ');
  return `/${escaped}`;
}

/** Adds ignore lines for outputs that lack one; returns the paths added. */
export async function ignoreOutputs(root: string, repoPaths: string[]): Promise<string[]> {
  const file = path.join(root, '.gitignore');
  const text = (await readTextOrUndefined(file)) ?? '';
  const lines = new Set(text.split('\n').map((l) => l.trim()));
  const added = repoPaths.filter((p) => !lines.has(lineFor(p)));
  if (added.length === 0) return [];
  const prefix = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
  await writeFileAtomic(file, `${text}${prefix}${added.map(lineFor).join('\n')}\n`);
  return added;
}

/** Removes the ignore line of an output. */
export async function unignoreOutput(root: string, repoPath: string): Promise<void> {
  const file = path.join(root, '.gitignore');
  const text = await readTextOrUndefined(file);
  if (text === undefined) return;
  const kept = text.split('\n').filter((l) => l.trim() !== lineFor(repoPath));
  const next = kept.join('\n');
  if (next !== text) await writeFileAtomic(file, next);
}

/** True when `dir` is inside a git work tree (walks up looking for .git). */
export async function isInGitRepo(dir: string): Promise<boolean> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await fsp.stat(path.join(current, '.git'));
      return true;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return false;
      current = parent;
    }
  }
}
