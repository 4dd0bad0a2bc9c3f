import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DataverError,
  ERROR_CODES,
  ErrorCodes,
  EXIT_CODE_MEANINGS,
  ExitCode,
  isDataverError,
  userFsError,
  withFile,
} from '../src/index';

describe('one error model', () => {
  test('every error code maps to a documented exit code and has a summary', () => {
    const documented = new Set(Object.keys(EXIT_CODE_MEANINGS).map(Number));
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(documented.has(info.exit)).toBe(true);
      expect(info.summary.length).toBeGreaterThan(5);
      expect(ErrorCodes[code as keyof typeof ErrorCodes]).toBe(info.exit);
    }
    // 1 means "differences found": only a conflicted lock (a difference git left) maps to it; a bug is 70.
    const differences = Object.entries(ErrorCodes).filter(([, exit]) => exit === ExitCode.differences);
    expect(differences.map(([name]) => name)).toEqual(['LOCK_CONFLICT']);
    expect(ExitCode.internal).toBe(70);
  });

  test('a DataverError carries code, exit code, hint, file and data', () => {
    const e = new DataverError('TRUNCATED', 'unexpected end', { file: 'a.pt', hint: 'h', data: { n: 1 } });
    expect(e.message).toBe('a.pt: unexpected end');
    expect(e.exitCode).toBe(3);
    expect(e.data).toEqual({ n: 1, file: 'a.pt' });
    expect(isDataverError(e, 'TRUNCATED')).toBe(true);
    expect(isDataverError(e, 'CORRUPT')).toBe(false);
    expect(new DataverError('STAGE_FAILED', 'x', { exitCode: 9 }).exitCode).toBe(9);
  });

  test('withFile names the file and maps system errors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foundation-'));
    const missing = path.join(dir, 'missing.pt');
    await expect(fs.promises.readFile(missing).catch(withFile(missing))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      exitCode: 3,
      message: `${missing}: no such file`,
    });
    await expect(fs.promises.readFile(dir).catch(withFile(dir))).rejects.toMatchObject({ code: 'USAGE' });
    const parseError = new DataverError('CORRUPT', 'bad magic');
    await expect(Promise.reject(parseError).catch(withFile('b.npy'))).rejects.toMatchObject({
      message: 'b.npy: bad magic',
      file: 'b.npy',
    });
    await expect(Promise.reject(new TypeError('bug')).catch(withFile('c'))).rejects.toBeInstanceOf(TypeError);
    fs.rmSync(dir, { recursive: true });
  });

  test('full disks and read-only folders are the user’s, not bugs', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(userFsError(errno('ENOSPC'), '/x')?.code).toBe('NO_SPACE');
    expect(userFsError(errno('EROFS'), '/x')?.code).toBe('PERMISSION');
    expect(userFsError(errno('ENOENT'), '/x')).toBeUndefined();
    expect(userFsError(new Error('plain'), '/x')).toBeUndefined();
  });
});
