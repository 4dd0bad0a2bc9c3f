// `dataver import-dvc` on a DVC project written by hand as DVC writes it (DVC itself cannot be
// installed here): .dvc files (DVC 3 and DVC 2's legacy md5), dvc.yaml with foreach, vars and
// cache: false metrics, dvc.lock schema 2.0, .dvc/config remotes and an md5-addressed cache.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dv, expectCleanError, git, tempDir, tempRepo, writeFiles } from '../helpers/cli';

const md5 = (b: string | Buffer) => createHash('md5').update(b).digest('hex');

/** DVC's `.dir` listing: Python's json.dumps(sort_keys=True) of [{md5, relpath}] sorted by relpath. */
function dirListing(files: Record<string, string>): { bytes: string; hash: string } {
  const entries = Object.keys(files)
    .sort()
    .map((rel) => `{"md5": "${md5(files[rel] ?? '')}", "relpath": "${rel}"}`);
  const bytes = `[${entries.join(', ')}]`;
  return { bytes, hash: `${md5(bytes)}.dir` };
}

function cacheFiles(prefix: string, contents: string[], listings: Array<{ bytes: string; hash: string }>) {
  const out: Record<string, string> = {};
  for (const c of contents) {
    const h = md5(c);
    out[`${prefix}/files/md5/${h.slice(0, 2)}/${h.slice(2)}`] = c;
  }
  for (const l of listings) out[`${prefix}/files/md5/${l.hash.slice(0, 2)}/${l.hash.slice(2)}`] = l.bytes;
  return out;
}

const RAW = { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' };
const PREPARED = { 'all.txt': 'ALPHA\nBETA\n' };
const PREP_JS =
  "const f=require('fs');f.mkdirSync('data/prepared',{recursive:true});f.writeFileSync('data/prepared/all.txt',(f.readFileSync('data/raw/a.txt','utf8')+f.readFileSync('data/raw/sub/b.txt','utf8')).toUpperCase());\n";
const FIT_JS =
  "const f=require('fs');const m=process.argv[2];f.mkdirSync('models',{recursive:true});f.mkdirSync('metrics',{recursive:true});f.appendFileSync('runs.log',m+'\\n');f.writeFileSync('models/'+m+'.txt',m+':'+f.readFileSync('data/prepared/all.txt','utf8').length);f.writeFileSync('metrics/'+m+'.json',JSON.stringify({size:m.length}));\n";
const LABELS = 'id,label\r\n1,cat\r\n';

/** A DVC project: data/raw (only in the cache), labels.csv (DVC 2 entry, CRLF), a pipeline, remotes. */
function dvcProject(): { root: string; store: string } {
  const root = tempRepo({ init: false });
  const store = tempDir('dvc-store-');
  const raw = dirListing(RAW);
  const prepared = dirListing(PREPARED);
  const modelA = 'a:11';
  const metricsA = JSON.stringify({ size: 1 });
  writeFiles(root, {
    '.dvc/config': `[core]\n    remote = store\n['remote "store"']\n    url = ${path.relative(path.join(root, '.dvc'), store)}\n['remote "gcs"']\n    url = gs://bucket/dvcstore\n    projectname = my-project\n['remote "s3"']\n    url = s3://bucket/x\n`,
    '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
    '.gitignore': '/labels.csv\n/runs.log\n',
    'data/.gitignore': '/raw\n/prepared\n',
    'data/raw.dvc': `outs:\n- md5: ${raw.hash}\n  size: 11\n  nfiles: 2\n  hash: md5\n  path: raw\n`,
    // DVC 2 wrote no `hash: md5` and took the md5 of text files with CRLF turned into LF.
    'labels.csv.dvc': `outs:\n- md5: ${md5(LABELS.replace(/\r\n/g, '\n'))}\n  size: ${LABELS.length}\n  path: labels.csv\n`,
    'labels.csv': LABELS,
    'prep.js': PREP_JS,
    'fit.js': FIT_JS,
    'params.yaml': 'models: [a, b]\nscale: 2\n',
    'dvc.yaml': [
      'stages:',
      '  prepare:',
      '    cmd: node prep.js',
      '    deps: [data/raw, prep.js]',
      '    params: [scale]',
      '    outs: [data/prepared]',
      '  fit:',
      '    foreach: ${models}',
      '    do:',
      '      cmd: node fit.js ${item}',
      '      deps: [data/prepared, fit.js]',
      '      outs:',
      '        - models/${item}.txt:',
      '            remote: store',
      '      metrics:',
      '        - metrics/${item}.json:',
      '            cache: false',
      '',
    ].join('\n'),
    'dvc.lock': [
      "schema: '2.0'",
      'stages:',
      '  prepare:',
      '    cmd: node prep.js',
      '    deps:',
      `    - path: data/raw\n      hash: md5\n      md5: ${raw.hash}\n      size: 11\n      nfiles: 2`,
      `    - path: prep.js\n      hash: md5\n      md5: ${md5(PREP_JS)}\n      size: ${PREP_JS.length}`,
      '    params:\n      params.yaml:\n        scale: 2',
      '    outs:',
      `    - path: data/prepared\n      hash: md5\n      md5: ${prepared.hash}\n      size: 11\n      nfiles: 1`,
      '  fit@a:',
      '    cmd: node fit.js a',
      '    deps:',
      `    - path: data/prepared\n      hash: md5\n      md5: ${prepared.hash}`,
      `    - path: fit.js\n      hash: md5\n      md5: ${md5(FIT_JS)}`,
      '    params:\n      params.yaml:\n        models: [a, b]',
      '    outs:',
      `    - path: models/a.txt\n      hash: md5\n      md5: ${md5(modelA)}`,
      `    - path: metrics/a.json\n      hash: md5\n      md5: ${md5(metricsA)}`,
      '  fit@b:',
      '    cmd: node fit.js b --old-flag',
      '',
    ].join('\n'),
    'models/a.txt': modelA,
    'metrics/a.json': metricsA,
    ...cacheFiles('.dvc/cache', [...Object.values(RAW), ...Object.values(PREPARED)], [raw, prepared]),
  });
  writeFileSync(path.join(root, '.gitignore'), '/labels.csv\n/runs.log\n/models\n');
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'a DVC project');
  return { root, store };
}

function runsOf(root: string): string[] {
  return existsSync(path.join(root, 'runs.log'))
    ? readFileSync(path.join(root, 'runs.log'), 'utf8').split('\n').filter(Boolean)
    : [];
}

describe('dataver import-dvc', () => {
  test('converts a DVC project; pull and repro then work in a clone', () => {
    const { root, store } = dvcProject();
    const r = dv(root, ['import-dvc', '--from-cache']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/imported {2}data\/raw .*from the DVC cache, md5 .* checked → sha256/);
    expect(r.stdout).toMatch(/recorded {2}stage prepare/);
    expect(r.stdout).toMatch(/recorded {2}stage fit@a/);
    expect(r.stdout).toMatch(/stale {5}stage fit@b: its cmd differs from dvc\.lock/);
    expect(r.stdout).toMatch(
      /remote s3 \(s3:\/\/bucket\/x\): dataver supports gs:\/\/ and folder remotes only/,
    );
    expect(r.stdout).toMatch(/models\/\$\{item\}\.txt: option 'remote' is not carried over/);
    // The data came out of the md5 cache and is addressed by sha256 now.
    expect(readFileSync(path.join(root, 'data/raw/sub/b.txt'), 'utf8')).toBe('beta\n');
    const lock = JSON.parse(readFileSync(path.join(root, 'data.lock.json'), 'utf8'));
    expect(Object.keys(lock.outputs).sort()).toEqual([
      'data/prepared',
      'data/raw',
      'labels.csv',
      'models/a.txt',
    ]);
    expect(lock.outputs['labels.csv'].hash).toBe(createHash('sha256').update(LABELS).digest('hex'));
    expect(lock.outputs['data/prepared'].stage).toBe('prepare');
    expect(Object.keys(lock.stages).sort()).toEqual(['fit@a', 'prepare']);
    const config = JSON.parse(readFileSync(path.join(root, '.dataver/config.json'), 'utf8'));
    expect(config.core.remote).toBe('store');
    expect(config.remotes.gcs).toEqual({ url: 'gs://bucket/dvcstore', projectId: 'my-project' });
    expect(path.resolve(root, config.remotes.store.url)).toBe(store);
    expect(config.remotes.s3).toBeUndefined();
    const pipeline = readFileSync(path.join(root, 'dataver.yaml'), 'utf8');
    expect(pipeline).toMatch(/foreach: \$\{models\}/);

    // Only the stage DVC itself would re-run is stale.
    const status = dv(root, ['status', '--porcelain']);
    expect(status.stdout).toMatch(/S fit@b/);
    expect(status.stdout).not.toMatch(/prepare|fit@a/);
    const repro = dv(root, ['repro']);
    expect(repro.code).toBe(0);
    expect(runsOf(root)).toEqual(['b']);
    expect(dv(root, ['repro']).code).toBe(0);
    expect(runsOf(root)).toEqual(['b']);

    expect(dv(root, ['push']).code).toBe(0);
    git(root, 'add', '.');
    git(root, 'commit', '-qm', 'dataver');
    const clone = path.join(tempDir(), 'clone');
    git(path.dirname(clone), 'clone', '-q', root, clone);
    const pull = dv(clone, ['pull']);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(readFileSync(path.join(clone, 'data/raw/a.txt'), 'utf8')).toBe('alpha\n');
    expect(readFileSync(path.join(clone, 'models/b.txt'), 'utf8')).toBe('b:11');
    expect(dv(clone, ['repro']).code).toBe(0);
    expect(runsOf(clone)).toEqual([]);
  });

  test('without a source, data missing from the workspace is reported, not invented', () => {
    const { root } = dvcProject();
    const r = dv(root, ['import-dvc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /data\/raw: missing from the workspace: not imported \(give --from-cache DIR or --from-remote NAME\)/,
    );
    expect(r.stdout).toMatch(/stale {5}stage prepare: dep data\/raw is missing/);
  });

  test('--from-remote takes the data from a folder remote of .dvc/config', () => {
    const { root, store } = dvcProject();
    // A DVC remote has the cache's layout.
    const cache = path.join(root, '.dvc/cache');
    writeFiles(
      store,
      cacheFiles(
        '.',
        [...Object.values(RAW), ...Object.values(PREPARED)],
        [dirListing(RAW), dirListing(PREPARED)],
      ),
    );
    rmSync(cache, { recursive: true });
    const r = dv(root, ['import-dvc', '--from-remote', 'store']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/imported {2}data\/raw .*from the DVC remote/);
    expect(readFileSync(path.join(root, 'data/raw/a.txt'), 'utf8')).toBe('alpha\n');
    expectCleanError(dv(tempRepo({ init: false }), ['import-dvc']), 2, /is not a DVC project/);
  });

  test.each([
    [
      'a .dvc file that is not YAML',
      { 'bad.dvc': 'outs: [unclosed\n' },
      2,
      /^error: bad\.dvc:\d+:\d+: not valid YAML/,
    ],
    [
      'an escaping path',
      { 'up.dvc': 'outs:\n- path: ../outside\n  md5: 0cc175b9c0f1b6a831c399e269772661\n' },
      2,
      /up\.dvc: path '\.\.\/outside' is not inside the project/,
    ],
    ['an absolute path', { 'abs.dvc': 'outs:\n- path: /etc/passwd\n' }, 2, /not inside the project/],
    [
      'a name Windows cannot hold',
      { 'aux.dvc': 'outs:\n- path: aux\n  md5: 0cc175b9c0f1b6a831c399e269772661\n' },
      2,
      /'aux' is a reserved name on Windows/,
    ],
    [
      'an old dvc.lock',
      { 'dvc.lock': 'prepare:\n  cmd: x\n' },
      2,
      /dvc\.lock: schema "\(none\)" is not read/,
    ],
  ])('%s: one line, a documented exit code, nothing written', (_what, files, code, pattern) => {
    const { root } = dvcProject();
    writeFiles(root, files);
    expectCleanError(dv(root, ['import-dvc', '--from-cache']), code, pattern);
    expect(existsSync(path.join(root, '.dataver'))).toBe(false);
    expect(existsSync(path.join(root, 'dataver.yaml'))).toBe(false);
    expect(existsSync(path.join(root, 'data/raw'))).toBe(false);
  });

  test('a DVC cache object whose md5 does not match: exit 3, nothing written', () => {
    const { root } = dvcProject();
    const h = md5('beta\n');
    writeFileSync(path.join(root, '.dvc/cache/files/md5', h.slice(0, 2), h.slice(2)), 'BETA, damaged\n');
    const r = dv(root, ['import-dvc', '--from-cache']);
    expectCleanError(
      r,
      3,
      new RegExp(
        `object files/md5/${h.slice(0, 2)}/${h.slice(2)} \\(for data/raw/sub/b\\.txt\\) has md5 [0-9a-f]{32}, not ${h}`,
      ),
    );
    expect(existsSync(path.join(root, '.dataver'))).toBe(false);
    expect(existsSync(path.join(root, 'data/raw'))).toBe(false);
    expect(existsSync(path.join(root, '.dvc/tmp'))).toBe(true);
    expect(require('node:fs').readdirSync(path.join(root, '.dvc/tmp'))).toEqual([]);
  });
});
