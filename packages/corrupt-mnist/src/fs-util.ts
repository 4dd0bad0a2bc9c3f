// Output-folder clean-up of the Corrupt MNIST layout. (Sets of files are written all or nothing
// by writeAllOrNothing of @dataver/foundation.)
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { withFile } from '@dataver/foundation';

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
