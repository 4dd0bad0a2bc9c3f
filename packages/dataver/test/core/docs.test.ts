// docs/cli.md is generated from the help texts: it must match the program.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { assertBuilt } from '../helpers/cli';

it('docs/cli.md is up to date with the CLI (node scripts/gen-cli-docs.js)', () => {
  assertBuilt();
  const root = path.resolve(__dirname, '../../../..');
  const r = spawnSync(process.execPath, ['scripts/gen-cli-docs.js', '--check'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
