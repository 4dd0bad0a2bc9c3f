// Reading and writing data.lock.json. The text form is canonical: keys sorted
// at every level, two-space indent, one trailing newline, so that the same
// lock always has the same bytes and unrelated edits touch unrelated lines.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { readTextOrUndefined } from '../util/fs.js';
import { firstDuplicateKey } from '../util/json-keys.js';
import { firstIssue } from '../util/parse-errors.js';
import { acceptLock, emptyLock } from './accept.js';
import type { Lock } from './schema.js';

export const LOCK_FILE = 'data.lock.json';

/** Recursively sorts object keys (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) sorted[key] = sortKeys(v);
    }
    return sorted;
  }
  return value;
}

/**
 * The canonical text of a lock.
 *
 * @example
 * serializeLock(emptyLock()); // '{\n  "outputs": {},\n  "stages": {},\n  "version": 1\n}\n'
 */
export function serializeLock(lock: Lock): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

/**
 * Parses and validates lock text; errors name the file and the offending key.
 *
 * @example
 * const lock = parseLock(text, 'data.lock.json');
 */
export function parseLock(text: string, source = LOCK_FILE): Lock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (/^(<<<<<<<|=======|>>>>>>>)/m.test(text)) {
      throw new DataverError('LOCK_CONFLICT', `${source} has unresolved merge conflict markers`, {
        hint: 'keep one side of each marked entry (or `git checkout --theirs`/`--ours`), then `git add` it; `dataver doctor` checks the merge driver',
      });
    }
    throw new DataverError('LOCK_INVALID', `${source} is not valid JSON: ${(error as Error).message}`, {
      hint: `restore it with \`git checkout -- ${source}\``,
    });
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate) {
    throw new DataverError(
      'LOCK_INVALID',
      `${source}: duplicated key ${JSON.stringify(duplicate.join('.'))}`,
      {
        hint: `keep one of the two entries (a bad merge or hand edit?), or restore the file with \`git checkout -- ${source}\``,
      },
    );
  }
  // Most locks pass the zod-free check; the schema (loaded only then) decides the rest.
  const accepted = acceptLock(raw);
  if (accepted) return accepted;
  const { lockSchema } = require('./schema.js') as typeof import('./schema.js');
  const result = lockSchema.safeParse(raw);
  if (!result.success) {
    const issue = firstIssue(result.error);
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    // For a bad record key (an output path), zod nests the key's own issue.
    const nested = (issue as { issues?: Array<{ message: string }> }).issues?.[0]?.message;
    const message = issue.code === 'invalid_key' && nested ? `invalid path: ${nested}` : issue.message;
    throw new DataverError('LOCK_INVALID', `${source}: ${where}: ${message}`, {
      hint: `fix that entry or restore the file with \`git checkout -- ${source}\``,
    });
  }
  return result.data;
}

/** Reads `<root>/data.lock.json`; a missing file is an empty lock. */
export async function readLock(root: string): Promise<Lock> {
  const text = await readTextOrUndefined(path.join(root, LOCK_FILE));
  return text === undefined ? emptyLock() : parseLock(text);
}

/** Writes the lock atomically; returns false when the bytes on disk are already the same. */
export async function writeLock(root: string, lock: Lock): Promise<boolean> {
  const file = path.join(root, LOCK_FILE);
  const text = serializeLock(lock);
  if ((await readTextOrUndefined(file)) === text) return false;
  await writeFileAtomic(file, text);
  return true;
}
