// LocalStorage: the shared contract plus what only a folder can show (atomic temp files, errors).
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isDataverError, tmpNameFor } from '@dataver/foundation';
import { LEGACY_TMP_PREFIX, LocalStorage } from '../../src/storage/local';
import { describeStorageContract, makeTempDir } from './contract';

describeStorageContract('LocalStorage', async () => {
  const { dir, dispose } = await makeTempDir();
  return {
    storage: new LocalStorage(dir),
    dispose,
    description: { kind: 'local', location: dir, credentialSource: 'file system' },
  };
});

describe('LocalStorage', () => {
  test('list skips temporary files left by a crashed write', async () => {
    const { dir, dispose } = await makeTempDir();
    try {
      const storage = new LocalStorage(dir);
      await storage.put('a/b', Buffer.from('x'));
      await fs.writeFile(path.join(dir, 'a', `${LEGACY_TMP_PREFIX}123-abc`), 'partial'); // an older version's
      await fs.writeFile(tmpNameFor(path.join(dir, 'a', 'c')), 'partial');
      const keys: string[] = [];
      for await (const e of storage.list('')) keys.push(e.key);
      expect(keys).toEqual(['a/b']);
    } finally {
      await dispose();
    }
  });

  test('keys that could escape the root are rejected', async () => {
    const storage = new LocalStorage('/tmp/nowhere');
    for (const key of ['../x', '/abs', 'a//b', 'a/./b', 'a\\b', '']) {
      await expect(storage.put(key, Buffer.from('x'))).rejects.toThrow(TypeError);
    }
  });

  test('a folder that cannot be written maps to a PERMISSION DataverError', async () => {
    const { dir, dispose } = await makeTempDir();
    // Root ignores file modes; the immutable attribute stops root too (where chattr works).
    const asRoot = process.getuid?.() === 0;
    const lock = async (on: boolean): Promise<boolean> => {
      if (asRoot) return spawnSync('chattr', [on ? '+i' : '-i', dir]).status === 0;
      await fs.chmod(dir, on ? 0o555 : 0o755);
      return true;
    };
    try {
      if (!(await lock(true))) return; // no way to make a folder read-only here
      const storage = new LocalStorage(dir);
      const error = await storage.put('y', Buffer.from('x')).catch((e: unknown) => e);
      expect(isDataverError(error, 'PERMISSION')).toBe(true);
      expect((error as Error).message).toContain(dir);
    } finally {
      await lock(false);
      await dispose();
    }
  });

  test('list over 10 000 files in 100 folders yields each once with its size', async () => {
    const { dir, dispose } = await makeTempDir();
    try {
      const storage = new LocalStorage(dir, { fsync: false });
      for (let i = 0; i < 100; i++) {
        const sub = path.join(dir, 'objects', i.toString(16).padStart(2, '0'));
        await fs.mkdir(sub, { recursive: true });
        await Promise.all(Array.from({ length: 100 }, (_, j) => fs.writeFile(path.join(sub, `f${j}`), 'ab')));
      }
      let bytes = 0;
      const keys = new Set<string>();
      for await (const e of storage.list('objects/')) {
        bytes += e.size;
        keys.add(e.key);
      }
      expect(keys.size).toBe(10_000);
      expect(bytes).toBe(20_000);
      expect(keys.has('objects/63/f99')).toBe(true);
    } finally {
      await dispose();
    }
  });
});
