import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  isProcessAlive,
  isStaleTemp,
  isTempName,
  syncFileSystem,
  syncStrategy,
  tempOwnerPid,
  tmpNameFor,
  writeAllOrNothing,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../src/index';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foundation-atomic-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const leftovers = () => fs.readdirSync(dir).filter(isTempName);

describe('atomic writes', () => {
  test('write the whole content and leave no temporary file', async () => {
    const target = path.join(dir, 'a.json');
    await writeFileAtomic(target, '{"a":1}\n');
    writeFileAtomicSync(path.join(dir, 'b.bin'), [Buffer.from('ab'), Buffer.from('cd')]);
    await writeFileAtomic(path.join(dir, 'c.bin'), [Buffer.from('x'), Buffer.from('yz')], { sync: false });
    expect(fs.readFileSync(target, 'utf8')).toBe('{"a":1}\n');
    expect(fs.readFileSync(path.join(dir, 'b.bin'), 'utf8')).toBe('abcd');
    expect(fs.readFileSync(path.join(dir, 'c.bin'), 'utf8')).toBe('xyz');
    expect(leftovers()).toEqual([]);
  });

  test('a failed write keeps the old content and cleans up', async () => {
    const target = path.join(dir, 'keep.txt');
    fs.writeFileSync(target, 'old');
    fs.mkdirSync(path.join(dir, 'sub'));
    // Renaming a file over a non-empty folder fails after the temp file was written.
    fs.writeFileSync(path.join(dir, 'sub', 'x'), '');
    await expect(writeFileAtomic(path.join(dir, 'sub'), 'new')).rejects.toThrow();
    expect(() => writeFileAtomicSync(path.join(dir, 'sub'), 'new')).toThrow();
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(leftovers()).toEqual([]);
  });

  test('kill -9 in the middle of rewrites leaves the old or the new file, never a torn one', async () => {
    const target = path.join(dir, 'big.bin');
    const a = Buffer.alloc(4 << 20, 'a');
    fs.writeFileSync(target, a);
    const script = `
      const { writeFileAtomicSync } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      const bufs = [Buffer.alloc(4 << 20, 'a'), Buffer.alloc(4 << 20, 'b')];
      process.stdout.write('go\\n');
      for (let i = 0; ; i++) writeFileAtomicSync(${JSON.stringify(target)}, bufs[i % 2], { sync: false });`;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await new Promise((resolve) => setTimeout(resolve, 30 + 40 * round));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const content = fs.readFileSync(target);
      expect(content.length).toBe(4 << 20);
      expect(content.every((b) => b === content[0])).toBe(true);
      // The dead writer's temp file is recognisably stale.
      for (const name of leftovers()) expect(isStaleTemp(name)).toBe(true);
    }
  });

  test('writeAllOrNothing moves a whole set in, or nothing', async () => {
    const out = path.join(dir, 'out');
    await expect(
      writeAllOrNothing(out, async (tmp) => {
        fs.writeFileSync(path.join(tmp, 'one'), '1');
        throw new Error('second file failed');
      }),
    ).rejects.toThrow('second file failed');
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
    const n = await writeAllOrNothing(out, async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'one'), '1');
      fs.writeFileSync(path.join(tmp, 'two'), '2');
      return 2;
    });
    expect(n).toBe(2);
    expect(fs.readdirSync(out).sort()).toEqual(['one', 'two']);
    expect(leftovers()).toEqual([]);
  });
});

describe('temporary names', () => {
  test('have one shape that names their process', () => {
    const name = path.basename(tmpNameFor(path.join(dir, 'x')));
    expect(isTempName(name)).toBe(true);
    expect(tempOwnerPid(name)).toBe(process.pid);
    expect(isTempName('.x.tmp')).toBe(false);
    expect(tempOwnerPid('data.lock.json')).toBeUndefined();
  });

  test('are stale only when their process is gone', () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout);
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(deadPid)).toBe(false);
    expect(isStaleTemp(`.dv-${deadPid}-0123456789ab.tmp`)).toBe(true);
    expect(isStaleTemp(path.basename(tmpNameFor('x')))).toBe(false); // ours: alive
    expect(isStaleTemp('.dv-1-0123456789ab.tmp')).toBe(false); // pid 1 always runs
  });
});

describe('file-system flush', () => {
  test('uses syncfs on Linux, sync on other Unix systems, per-file fsync on Windows', async () => {
    expect(syncStrategy('linux')).toBe('syncfs');
    expect(syncStrategy('darwin')).toBe('sync');
    expect(syncStrategy('freebsd')).toBe('sync');
    expect(syncStrategy('win32')).toBe('fsync-each');
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    expect(await syncFileSystem(dir, [file])).toBe(syncStrategy());
  });
});
