// dataver merge-driver %O %A %B %P — git calls this to merge data.lock.json.
// Exit 0 with the merged lock in %A, or 1 with the conflicting entries marked.
import { promises as fsp } from 'node:fs';
import type { Output } from '@dataver/foundation';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { emptyLock } from '../../lock/accept.js';
import { parseLock, serializeLock } from '../../lock/lock-file.js';
import type { Lock } from '../../lock/schema.js';

async function readSide(file: string, label: string): Promise<Lock> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    throw new DataverError('USAGE', `merge driver: cannot read the ${label} version (${file})`, {
      cause: error,
    });
  }
  // An empty file is git's way of saying "absent on this side" (e.g. no common ancestor).
  return text.trim() === '' ? emptyLock() : parseLock(text, `data.lock.json (${label})`);
}

export async function run(
  output: Output,
  [base, ours, theirs, shown]: [string, string, string, string | undefined],
): Promise<number> {
  const { mergeLocks, renderConflicts, describeConflict } =
    require('../../git/merge-lock.js') as typeof import('../../git/merge-lock.js');
  const name = shown ?? 'data.lock.json';
  const merge = mergeLocks(
    await readSide(base, 'base'),
    await readSide(ours, 'ours'),
    await readSide(theirs, 'theirs'),
  );
  if (merge.conflicts.length === 0) {
    await writeFileAtomic(ours, serializeLock(merge.lock));
    output.debug(`dataver: merged ${name} entry by entry`);
    return 0;
  }
  await writeFileAtomic(ours, `${renderConflicts(merge)}`);
  process.stderr.write(
    `dataver: ${name}: ${merge.conflicts.length} conflicting entr${merge.conflicts.length === 1 ? 'y' : 'ies'}:\n`,
  );
  for (const c of merge.conflicts) process.stderr.write(`  ${describeConflict(c)}\n`);
  process.stderr.write(
    `hint: every other entry merged; edit ${name} to keep one side of each marked entry (or re-run \`dataver repro\` / \`dataver add\` after choosing), then \`git add ${name}\`\n`,
  );
  return 1;
}
