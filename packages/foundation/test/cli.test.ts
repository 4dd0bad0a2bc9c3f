// The CLI harness through a real process: exit codes, one-line errors, JSON errors, bugs.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const tool = path.join(__dirname, 'fixtures', 'tool.js');
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [tool, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('the CLI harness', () => {
  test('a command runs and prints its result as text or JSON', () => {
    expect(run('ok')).toMatchObject({ code: 0, stdout: 'all fine\n' });
    expect(JSON.parse(run('ok', '--json', '-n', '4').stdout)).toEqual({ ok: true, n: 4 });
    expect(run('ok', '-q').stdout).toBe('');
  });

  test('help and version exit 0, with the exit-code table and the example', () => {
    const help = run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 differences found/);
    expect(help.stdout).toMatch(/70 internal error/);
    expect(help.stdout).toMatch(/Example:\n {2}tool ok/);
    expect(run('--version')).toMatchObject({ code: 0, stdout: '1.2.3\n' });
  });

  test('usage errors exit 2 (never 1), say how to get help, and speak JSON with --json', () => {
    const unknown = run('nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'nope'/);
    expect(unknown.stderr).toMatch(/run with --help for usage/);
    const badInt = run('ok', '-n', 'x', '--json');
    expect(badInt.code).toBe(2);
    expect(JSON.parse(badInt.stdout).error).toMatchObject({ code: 'USAGE' });
  });

  test.each([
    ['OBJECT_MISSING', 3],
    ['REMOTE_AUTH', 4],
    ['REPO_BUSY', 5],
    ['CONFIG_INVALID', 2],
  ])('a DataverError %s is one line plus a hint and exits %i', (code, exit) => {
    const r = run('fail', code);
    expect(r.code).toBe(exit);
    expect(r.stderr).toBe('error: x.bin: it went wrong\nhint: do this instead\n');
    const json = JSON.parse(run('fail', code, '--json').stdout);
    expect(json.error).toEqual({
      code,
      message: 'x.bin: it went wrong',
      hint: 'do this instead',
      file: 'x.bin',
    });
  });

  test('a bug exits 70 with its stack trace', () => {
    const r = run('bug');
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/^internal error: SyntaxError/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  test('a user-caused file-system error is an expected error, not a bug', () => {
    const r = run('eacces');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: permission denied: \/ro\/file\nhint: /);
  });

  test('a closed stdout pipe is no error', () => {
    const r = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" "${tool}" lines | head -n 1`],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stdout).toBe('line 0\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
