// The README's tour, run as written: its commands are read from README.md (so the test fails
// when the README drifts), from an empty folder to a second clone's pull, against the GCS
// emulator standing in for the bucket it names. Every command must succeed.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, tempDir } from '../helpers/cli';
import { REPO_ROOT, useGcsEmulator } from '../helpers/gcs-emulator';

const emulator = useGcsEmulator();

/** The first bash block after the tour's heading. */
function tourCommands(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The 30-second tour'));
  const block = /```bash\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no bash block in "The 30-second tour"');
  return block;
}

test('a new user following the README tour never hits an error', () => {
  const commands = tourCommands();
  expect(commands).toMatch(/npx dataver pull/);
  expect(commands).toMatch(/git clone/);
  const home = tempDir('tour-');
  // `npx dataver` as a user's project would have it: this build of the CLI.
  const bin = path.join(home, 'bin');
  require('node:fs').mkdirSync(bin);
  writeFileSync(
    path.join(bin, 'npx'),
    `#!/bin/sh\n[ "$1" = dataver ] || { echo "npx: only dataver here" >&2; exit 127; }\nshift\nexec "${process.execPath}" "${CLI}" "$@"\n`,
  );
  chmodSync(path.join(bin, 'npx'), 0o755);
  const workdir = path.join(home, 'work');
  require('node:fs').mkdirSync(workdir);
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', commands], {
    cwd: workdir,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      CI: '',
      // The bucket of the README lives in the emulator; no real credentials are looked for.
      STORAGE_EMULATOR_HOST: emulator().endpoint,
      DATAVER_GCS_CREDENTIALS: '',
      GOOGLE_APPLICATION_CREDENTIALS: '',
      GIT_AUTHOR_NAME: 'New User',
      GIT_AUTHOR_EMAIL: 'new@example.com',
      GIT_COMMITTER_NAME: 'New User',
      GIT_COMMITTER_EMAIL: 'new@example.com',
      GIT_CONFIG_GLOBAL: path.join(home, 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
    },
    timeout: 240_000,
  });
  expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(r.stderr).not.toMatch(/^(error|internal error):/m);
  // The clone holds exactly the data of the original.
  for (const file of ['data/raw/labels.csv', 'data/clean.csv']) {
    expect(readFileSync(path.join(workdir, 'my-clone', file), 'utf8')).toBe(
      readFileSync(path.join(workdir, 'my-project', file), 'utf8'),
    );
  }
  expect(r.stdout).toMatch(/No problems found\./);
}, 300_000);
