// LocalStorage: the shared contract plus what only a folder can show (atomic temp files, errors).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isDataverError } from '../../src/errors';
import { LOCAL_TMP_PREFIX, LocalStorage } from '../../src/storage/local';
import { describeStorageContract, makeTempDir } from './contract';

describeStorageContract('LocalStorage', async () => {
  const { dir, dispose } = await makeTempDir();
  return { storage: new LocalStorage(dir), dispose };
});

describe('LocalStorage', () => {
  test('list skips temporary files left by a crashed write', async () => {
    const { dir, dispose } = await makeTempDir();
    try {
      const storage = new LocalStorage(dir);
      await storage.put('a/b', Buffer.from('x'));
      await fs.writeFile(path.join(dir, 'a', `${LOCAL_TMP_PREFIX}123-abc`), 'partial');
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

  test('a read-only folder maps to a PERMISSION DataverError', async () => {
    if (process.getuid?.() === 0) return; // root ignores file modes
    const { dir, dispose } = await makeTempDir();
    try {
      await fs.chmod(dir, 0o555);
      const storage = new LocalStorage(dir);
      const error = await storage.put('x/y', Buffer.from('x')).catch((e: unknown) => e);
      expect(isDataverError(error, 'PERMISSION')).toBe(true);
    } finally {
      await fs.chmod(dir, 0o755);
      await dispose();
    }
  });

  test('list over 10 000 files is fast', async () => {
    const { dir, dispose } = await makeTempDir();
    try {
      const storage = new LocalStorage(dir, { fsync: false });
      for (let i = 0; i < 100; i++) {
        const sub = path.join(dir, 'objects', i.toString(16).padStart(2, '0'));
        await fs.mkdir(sub, { recursive: true });
        await Promise.all(Array.from({ length: 100 }, (_, j) => fs.writeFile(path.join(sub, `f${j}`), 'ab')));
      }
      const t0 = performance.now();
      let n = 0;
      for await (const e of storage.list('objects/')) n += e.size;
      const ms = performance.now() - t0;
      expect(n).toBe(20_000);
      expect(ms).toBeLessThan(3000);
    } finally {
      await dispose();
    }
  });
});
