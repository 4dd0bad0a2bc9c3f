// ObjectCache.removeLeftovers: one crash clean-up for every temporary name dataver writes in the
// cache (foundation's `.dv-<pid>-<hex>.tmp`, and the names older versions used).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpNameFor } from '@dataver/foundation';
import { ObjectCache } from '../../src/odb/cache';
import { tempDir } from '../helpers/cli';

test('removes the leftovers of dead writers, wherever the cache writes them, and keeps live ones', async () => {
  const root = tempDir();
  const cache = new ObjectCache(path.join(root, 'cache'), path.join(root, 'tmp'));
  await cache.ensureDirs();
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  const dead = (dir: string) => path.join(dir, `.dv-${deadPid}-0123456789ab.tmp`);
  const objectDir = path.join(cache.objectsDir, 'ab');
  for (const dir of [objectDir, cache.downloadDir]) mkdirSync(dir, { recursive: true });
  const leftovers = [
    dead(cache.objectsDir), // an ingest
    dead(objectDir), // a manifest (putBuffer)
    dead(cache.downloadDir), // a download
    path.join(cache.objectsDir, '.ingest.123.0.7.tmp'), // older versions
    path.join(cache.downloadDir, 'fetch-0123456789abcdef-00ff00ff'),
  ];
  const live = tmpNameFor(path.join(cache.downloadDir, 'x')); // this process: still writing
  const object = path.join(objectDir, 'c'.repeat(62));
  for (const file of [...leftovers, live, object]) writeFileSync(file, 'x');
  expect(await cache.removeLeftovers()).toBe(leftovers.length);
  expect(readdirSync(objectDir)).toEqual(['c'.repeat(62)]);
  expect(readdirSync(cache.downloadDir)).toEqual([path.basename(live)]);
  expect(readdirSync(cache.objectsDir)).toEqual(['ab']);
});
