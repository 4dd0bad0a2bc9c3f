// Which paths git itself tracks: data tracked by both git and dataver would be committed twice
// and fight on checkout, so `add` refuses it.
import { runGit } from './git.js';

/**
 * The given repository paths (or files below them) that git already tracks; empty outside git
 * (or where git is missing).
 *
 * @example
 * const inGit = await gitTrackedPaths(repo.root, ['data/raw']); // ['data/raw/a.bin'] when committed
 */
export async function gitTrackedPaths(root: string, repoPaths: readonly string[]): Promise<string[]> {
  if (repoPaths.length === 0) return [];
  try {
    const run = await runGit(root, ['ls-files', '-z', '--', ...repoPaths.map((p) => `:(literal)${p}`)]);
    return run.code === 0 ? run.stdout.toString('utf8').split('\0').filter(Boolean) : [];
  } catch {
    return []; // git missing
  }
}
