// The one git runner (src/git/git.ts) and the history reads built on it: exit statuses and
// errors, the streaming `cat-file --batch` reader, and every version of a file across history.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDataverError } from '@dataver/foundation';
import { catFileBatch, gitOutput, runGit } from '../../src/git/git';
import { fileVersionsAtTips, fileVersionsInHistory, resolveRevision } from '../../src/git/revisions';
import { git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

function commitFile(repo: string, file: string, text: string, message: string): void {
  writeFiles(repo, { [file]: text });
  git(repo, 'add', file);
  git(repo, 'commit', '-qm', message);
}

describe('runGit / gitOutput', () => {
  test('runGit resolves with the status and output; gitOutput throws a USAGE error naming the command', async () => {
    const repo = tempRepo({ init: false });
    const ok = await runGit(repo, ['rev-parse', '--is-inside-work-tree']);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout.toString().trim()).toBe('true');
    const outside = tempDir();
    expect((await runGit(outside, ['rev-parse', '--git-dir'])).code).not.toBe(0);
    const error = await gitOutput(outside, ['log']).catch((e: unknown) => e);
    expect(isDataverError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toMatch(/^git log failed: .*not a git repository/);
  });

  test('input reaches git on stdin', async () => {
    const repo = tempRepo({ init: false });
    const id = (await gitOutput(repo, ['hash-object', '--stdin'], { input: 'hello\n' })).trim();
    expect(id).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

describe('catFileBatch', () => {
  test('streams objects in the order asked, names that resolve to nothing come back missing', async () => {
    const repo = tempRepo({ init: false });
    commitFile(repo, 'sub/a.txt', 'first\n', 'one');
    commitFile(repo, 'sub/a.txt', 'second, longer\n', 'two');
    const big = 'x'.repeat(300_000); // more than one pipe buffer
    commitFile(repo, 'big.txt', big, 'three');
    commitFile(repo, 'with space.txt', 'spaced\n', 'four');
    const got = [];
    const names = [
      'HEAD~3:sub/a.txt',
      'HEAD:nope',
      'HEAD:no such file',
      'HEAD:big.txt',
      'HEAD:with space.txt',
    ];
    for await (const o of catFileBatch(repo, [...names, 'HEAD:sub/a.txt']))
      got.push(
        'missing' in o
          ? { name: o.name, missing: true }
          : { name: o.name, type: o.type, text: o.data.toString() },
      );
    expect(got).toEqual([
      { name: 'HEAD~3:sub/a.txt', type: 'blob', text: 'first\n' },
      { name: 'HEAD:nope', missing: true },
      { name: 'HEAD:no such file', missing: true },
      { name: 'HEAD:big.txt', type: 'blob', text: big },
      { name: 'HEAD:with space.txt', type: 'blob', text: 'spaced\n' },
      { name: 'HEAD:sub/a.txt', type: 'blob', text: 'second, longer\n' },
    ]);
  });

  test('a consumer that stops early ends the git process', async () => {
    const repo = tempRepo({ init: false });
    commitFile(repo, 'a.txt', 'a\n', 'one');
    for await (const o of catFileBatch(repo, ['HEAD:a.txt', 'HEAD:a.txt', 'HEAD:a.txt'])) {
      expect('missing' in o).toBe(false);
      break;
    }
  });
});

describe('history reads', () => {
  test('every committed version of a file, in a subfolder of the work tree, each once', async () => {
    const repo = tempRepo({ init: false });
    commitFile(repo, 'proj/data.lock.json', 'v1\n', 'one');
    commitFile(repo, 'proj/data.lock.json', 'v2\n', 'two');
    git(repo, 'checkout', '-qb', 'side');
    commitFile(repo, 'proj/data.lock.json', 'v3\n', 'three');
    git(repo, 'checkout', '-q', 'main');
    commitFile(repo, 'proj/other.txt', 'x\n', 'four');
    git(repo, 'tag', '-a', 'v1', '-m', 'tag', 'HEAD~2');
    const root = `${repo}/proj`;
    const history = await fileVersionsInHistory(root, 'data.lock.json');
    expect(history.commits).toBe(4);
    expect(history.versions.map((v) => v.text).sort()).toEqual(['v1\n', 'v2\n', 'v3\n']);
    const tips = await fileVersionsAtTips(root, 'data.lock.json');
    expect(tips.tips).toBe(3); // main, side, the annotated tag
    expect(tips.versions.map((v) => v.text).sort()).toEqual(['v1\n', 'v2\n', 'v3\n']);
  });

  test('an unknown revision is a USAGE error', async () => {
    const repo = tempRepo({ init: false });
    commitFile(repo, 'a.txt', 'a\n', 'one');
    expect(await resolveRevision(repo, 'HEAD')).toMatch(/^[0-9a-f]{40}$/);
    await expect(resolveRevision(repo, 'no-such-branch')).rejects.toMatchObject({ code: 'USAGE' });
  });
});

test('no other module of dataver starts processes, except the stage runner (which runs `sh -c`) and `fsmonitor start` (its daemon)', () => {
  const src = path.resolve(__dirname, '../../src');
  const spawning = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter(
      (f) =>
        f.endsWith('.ts') && /node:child_process|simple-git/.test(readFileSync(path.join(src, f), 'utf8')),
    )
    .map((f) => f.split(path.sep).join('/'))
    .sort();
  expect(spawning).toEqual(['cli/commands/fsmonitor.ts', 'git/git.ts', 'pipeline/repro.ts']);
});
