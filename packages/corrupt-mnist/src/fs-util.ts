// Output-directory helpers: build a set of files in a hidden temp dir beside the target, then
// move them in, so a failed run never leaves some files of the set behind.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { withFile } from './errors.js';

/**
 * Runs `build(tmpDir)`, then renames every file it made into `outDir` (created if needed).
 * The temp dir is removed whatever happens.
 *
 * @example
 * await writeAllOrNothing('data/raw', async (tmp) => { await writeTensor(path.join(tmp, 'a.pt'), t); });
 */
export async function writeAllOrNothing<T>(
  outDir: string,
  build: (tmpDir: string) => Promise<T>,
): Promise<T> {
  const parent = path.dirname(path.resolve(outDir));
  await fs.mkdir(parent, { recursive: true }).catch(withFile(parent));
  const tmp = path.join(
    parent,
    `.${path.basename(outDir)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`,
  );
  await fs.mkdir(tmp).catch(withFile(tmp));
  try {
    const result = await build(tmp);
    await fs.mkdir(outDir, { recursive: true }).catch(withFile(outDir));
    for (const name of (await fs.readdir(tmp)).sort()) {
      await fs.rename(path.join(tmp, name), path.join(outDir, name)).catch(withFile(path.join(outDir, name)));
    }
    return result;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Removes `train_{images,target}_{i}.pt` shards with i ≥ `count` left by an earlier, larger run,
 * so that `process` does not silently pick them up.
 *
 * @example
 * await removeStaleShards('data/raw', 6); // deletes train_images_6.pt, … if present
 */
export async function removeStaleShards(outDir: string, count: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(outDir).catch(withFile(outDir))) {
    const m = /^train_(images|target)_(\d+)\.pt$/.exec(name);
    if (m && Number(m[2]) >= count) {
      await fs.rm(path.join(outDir, name), { force: true });
      removed.push(name);
    }
  }
  return removed.sort();
}
