// dataver diff / params diff / metrics show|diff / gc scopes, across real commits.
import { chmodSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dv, git, lockOf, npyFloat32, ok, pipelineRepo, read, tempRepo, writeFiles } from './helpers';

function commit(root: string, message: string): void {
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', message);
}

describe('dataver diff', () => {
  test('between commits: files of a directory, sizes, and tensor statistics from the lock', () => {
    const root = tempRepo();
    writeFiles(root, {
      'data/processed/train.npy': npyFloat32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]),
      'data/processed/labels.txt': '1 2\n',
      'data/processed/old.txt': 'to be deleted\n',
      'model.bin': 'm1',
    });
    ok(root, ['add', 'data/processed', 'model.bin']);
    commit(root, 'raw');
    const before = lockOf(root).outputs['data/processed'].meta as Record<
      string,
      { tensors: Array<{ mean: number }> }
    >;
    expect(before['train.npy'].tensors[0].mean).toBeCloseTo(0.35, 5);

    // "Normalize": mean 0, plus a new file and a deleted one.
    writeFiles(root, {
      'data/processed/train.npy': npyFloat32([-1.5, -0.9, -0.3, 0.3, 0.9, 1.5], [2, 3]),
      'data/processed/extra.txt': 'new\n',
    });
    rmSync(path.join(root, 'data/processed/old.txt'));
    rmSync(path.join(root, 'model.bin'));
    ok(root, ['remove', 'model.bin']);
    writeFiles(root, { 'report.txt': 'r' });
    ok(root, ['add', 'data/processed', 'report.txt']);
    commit(root, 'normalized');

    const r = ok(root, ['diff', 'HEAD~1', 'HEAD']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('dataver diff HEAD~1 → HEAD');
    expect(r.stdout).toMatch(/STATUS +PATH +BEFORE +AFTER +CHANGE +DETAIL/);
    expect(r.stdout).toMatch(
      /modified +data\/processed\/ +\d+ B +\d+ B +[−+]\d+ B +files: 1 added, 1 modified, 1 deleted/,
    );
    expect(r.stdout).toMatch(/added +report\.txt +– +1 B +\+1 B/);
    expect(r.stdout).toMatch(/deleted +model\.bin +2 B +– +−2 B/);
    expect(r.stdout).toMatch(/ {6}added +extra\.txt +4 B/);
    expect(r.stdout).toMatch(/ {6}deleted +old\.txt/);
    expect(r.stdout).toMatch(/train\.npy: +float32 \[2,3\] +mean 0\.3500 → 0\.0000 +std 0\.1708 → 1\.0247/);
    expect(lines.at(-2)).toMatch(/^3 output\(s\) changed: 1 added, 1 modified, 1 deleted · /);

    const json = JSON.parse(ok(root, ['diff', 'HEAD~1', 'HEAD', '--json']).stdout);
    const processed = json.outputs.find((o: { path: string }) => o.path === 'data/processed');
    expect(processed.files.map((f: { path: string; state: string }) => `${f.state} ${f.path}`)).toEqual([
      'added extra.txt',
      'deleted old.txt',
      'modified train.npy',
    ]);
    expect(processed.tensors[0].changes).toContainEqual({ field: 'mean', before: 0.35, after: 0 });

    const md = ok(root, ['diff', 'HEAD~1', 'HEAD', '--md']).stdout;
    expect(md).toMatch(/^### dataver diff `HEAD~1` → `HEAD`/);
    expect(md).toMatch(/\| modified \| `data\/processed\/` \|/);
    expect(md).toMatch(/mean 0\.3500 → 0\.0000/);

    // Default: HEAD against the files in the workspace (as `dvc diff`), whether added or not.
    writeFileSync(path.join(root, 'report.txt'), 'edited');
    const ws = ok(root, ['diff']);
    expect(ws.stdout).toMatch(
      /dataver diff HEAD → workspace\n +\(HEAD compared with the files in the workspace/,
    );
    expect(ws.stdout).toMatch(/modified +report\.txt +1 B +6 B +\+5 B/);
    expect(ws.stdout).toMatch(/Not yet recorded in data\.lock\.json[^\n]*\n +modified +report\.txt/);
  });

  test('a manifest missing from the cache: the diff says so and suggests fetch', () => {
    const root = tempRepo();
    writeFiles(root, { 'd/a.txt': 'a' });
    ok(root, ['add', 'd']);
    commit(root, 'one');
    const oldHash = lockOf(root).outputs.d.hash;
    writeFiles(root, { 'd/b.txt': 'b' });
    ok(root, ['add', 'd']);
    commit(root, 'two');
    const object = path.join(root, '.dataver/cache/sha256', oldHash.slice(0, 2), oldHash.slice(2));
    chmodSync(path.dirname(object), 0o755);
    rmSync(object, { force: true });
    const r = ok(root, ['diff', 'HEAD~1', 'HEAD']);
    expect(r.stdout).toMatch(/modified +d\/ .*files unknown \(not in cache\)/);
    expect(r.stderr).toMatch(/warning: directory manifest [0-9a-f]{12}… is not in the cache.*dataver fetch/);
  });

  test('an unknown revision is a clean usage error', () => {
    const root = tempRepo();
    const r = dv(root, ['diff', 'no-such-branch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: unknown git revision 'no-such-branch'/);
  });
});

describe('params and metrics', () => {
  test('params diff, metrics show and metrics diff (text, --md, --json)', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    commit(root, 'first run');
    expect(ok(root, ['params', 'diff']).stdout).toMatch(/No params changed between HEAD and workspace/);
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.1', 'lr: 0.25') });
    const p = ok(root, ['params', 'diff']);
    expect(p.stdout).toMatch(/File +Param +HEAD +workspace +Change/);
    expect(p.stdout).toMatch(/params\.yaml +train\.lr +0\.1 +0\.25 +\+0\.15/);
    expect(p.stdout).not.toMatch(/train\.epochs/);
    expect(ok(root, ['params', 'diff', '--all']).stdout).toMatch(/train\.epochs +2 +2/);

    const show = ok(root, ['metrics', 'show']);
    expect(show.stdout).toMatch(/metrics\.json +accuracy +0\.\d+/);
    expect(show.stdout).toMatch(/metrics\.json +loss\.train +0\.5/);
    ok(root, ['repro']);
    commit(root, 'lr 0.25');
    const d = ok(root, ['metrics', 'diff', 'HEAD~1', 'HEAD']);
    expect(d.stdout).toMatch(/metrics\.json +accuracy +0\.\d+ +0\.\d+ +\+0\.01/);
    const md = ok(root, ['metrics', 'diff', 'HEAD~1', 'HEAD', '--md']).stdout;
    expect(md).toMatch(/^### Metrics: `HEAD~1` → `HEAD`\n\n\| File \| Metric \| HEAD~1 \| HEAD \| Change \|/);
    const json = JSON.parse(ok(root, ['metrics', 'diff', 'HEAD~1', 'HEAD', '--json']).stdout);
    expect(json.metrics).toEqual([
      expect.objectContaining({ file: 'metrics.json', key: 'accuracy', state: 'modified', change: 0.01 }),
    ]);
  });
});

describe('gc scopes', () => {
  function cacheObjects(root: string): number {
    const dir = path.join(root, '.dataver/cache/sha256');
    return readdirSync(dir).reduce(
      (n, p) => n + (statSync(path.join(dir, p)).isDirectory() ? readdirSync(path.join(dir, p)).length : 0),
      0,
    );
  }

  test('--all-commits keeps old versions; plain gc frees what only old commits use', () => {
    const root = tempRepo();
    for (const v of ['one', 'two', 'three']) {
      writeFiles(root, { 'data.txt': `${v}\n` });
      ok(root, ['add', 'data.txt']);
      commit(root, v);
    }
    expect(cacheObjects(root)).toBe(3);
    const kept = ok(root, ['gc', '--all-commits', '--force', '--json']);
    expect(JSON.parse(kept.stdout)).toMatchObject({ objects: 0, kept: 3, revisions: 3 });
    git(root, 'checkout', '-q', 'HEAD~2');
    ok(root, ['checkout']);
    expect(read(root, 'data.txt')).toBe('one\n');
    git(root, 'checkout', '-q', 'main');
    ok(root, ['checkout']);

    const branches = JSON.parse(ok(root, ['gc', '--all-branches', '--json']).stdout);
    expect(branches).toMatchObject({ objects: 2, removed: false });
    const freed = ok(root, ['gc', '--force']);
    expect(freed.stdout).toMatch(/removed 2 object\(s\), 8 B/);
    expect(cacheObjects(root)).toBe(1);
    expect(read(root, 'data.txt')).toBe('three\n');
  });

  test('run-cache records keep the outputs they point at', () => {
    const root = pipelineRepo();
    ok(root, ['repro']);
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.1', 'lr: 0.3') });
    ok(root, ['repro']);
    ok(root, ['gc', '--force']);
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.3', 'lr: 0.1') });
    expect(ok(root, ['repro']).stdout).toMatch(/Restored the outputs of stage 'train' from the run cache/);

    // --no-run-cache: the outputs of past runs go, and so do the records of those runs.
    const freed = JSON.parse(ok(root, ['gc', '--no-run-cache', '--force', '--json']).stdout);
    expect(freed.objects).toBeGreaterThan(0);
    expect(freed.runRecords).toBe(0);
    writeFiles(root, { 'params.yaml': read(root, 'params.yaml').replace('lr: 0.1', 'lr: 0.3') });
    expect(ok(root, ['repro']).stdout).toMatch(/Running stage 'train'/);
  });
});
