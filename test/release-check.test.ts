// scripts/release-check.js, which release.yml runs before publishing: a tag that names the
// version of all five packages passes; a wrong tag, an internal pin left behind, another
// repository (npm refuses its provenance), a missing licence or an unapplied changeset is named.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const { releaseProblems } = require('../scripts/release-check.js') as {
  releaseProblems(tag: string, options?: { repository?: string; root?: string }): string[];
};

const ROOT = path.resolve(__dirname, '..');
const DIRS = ['foundation', 'tensor', 'dataver', 'corrupt-mnist', 'trainer'];
const version = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/dataver/package.json'), 'utf8')) as { version: string }
).version;

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'release-check-'));
  for (const dir of DIRS) {
    fs.mkdirSync(path.join(root, 'packages', dir), { recursive: true });
    for (const file of ['package.json', 'LICENSE', 'README.md'])
      fs.copyFileSync(path.join(ROOT, 'packages', dir, file), path.join(root, 'packages', dir, file));
  }
  fs.mkdirSync(path.join(root, '.changeset'));
  fs.writeFileSync(path.join(root, '.changeset', 'README.md'), '# Changesets\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function edit(dir: string, change: (manifest: Record<string, unknown>) => void): void {
  const file = path.join(root, 'packages', dir, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  change(manifest);
  fs.writeFileSync(file, JSON.stringify(manifest));
}

test('the tag of the version all packages carry, from the repository they name, passes', () => {
  expect(releaseProblems(`v${version}`, { root, repository: 'dataver/dataver' })).toEqual([]);
});

test('a tag of another version, or no release tag at all, is refused', () => {
  const problems = releaseProblems('v99.0.0', { root });
  expect(problems.filter((p) => /version .*, but the tag says 99\.0\.0$/.test(p))).toHaveLength(DIRS.length);
  const pins = problems.filter((p) => /depends on .*, expected 99\.0\.0/.test(p));
  expect(pins.length).toBeGreaterThan(0);
  expect(problems).toHaveLength(DIRS.length + pins.length);
  expect(releaseProblems('latest', { root })).toEqual([
    expect.stringMatching(/"latest" is not a release tag/),
  ]);
});

test('an internal dependency left at an old version is named', () => {
  edit('trainer', (m) => {
    (m.dependencies as Record<string, string>).dataver = '0.0.1';
  });
  expect(releaseProblems(`v${version}`, { root })).toEqual([
    expect.stringMatching(/trainer.*depends on dataver@0\.0\.1, expected .*version-packages/),
  ]);
});

test('a release from another repository than the packages name is refused (npm would reject its provenance)', () => {
  const problems = releaseProblems(`v${version}`, { root, repository: 'someone/fork' });
  expect(problems).toHaveLength(DIRS.length);
  expect(problems[0]).toMatch(/repository\.url is .*, but this release runs in someone\/fork/);
});

test('a package without provenance, licence file or dist in files, and an unapplied changeset, are named', () => {
  edit('tensor', (m) => {
    m.publishConfig = { access: 'public' };
    m.files = ['lib'];
  });
  fs.rmSync(path.join(root, 'packages', 'dataver', 'LICENSE'));
  fs.writeFileSync(path.join(root, '.changeset', 'brave-cats.md'), '---\n"dataver": minor\n---\nA change\n');
  expect(releaseProblems(`v${version}`, { root })).toEqual([
    expect.stringMatching(/tensor.*files must list dist/),
    expect.stringMatching(/tensor.*provenance must be true/),
    expect.stringMatching(/dataver.*no LICENSE file/),
    expect.stringMatching(/unapplied changesets \(brave-cats\.md\)/),
  ]);
});
