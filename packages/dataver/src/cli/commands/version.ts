// dataver version [--json]: what a bug report needs — dataver, node, git, the platform, and how
// this repository's cache is set up (link mode, and whether the file system can reflink).
import { constants as fsConstants, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Output, tmpNameFor } from '@dataver/foundation';
import { runGit } from '../../git/git.js';
import { cliScript, cliVersion } from '../self.js';

/** Whether `dir`'s file system clones files (copy-on-write); undefined when it cannot be tried. */
async function reflinkSupported(dir: string): Promise<boolean | undefined> {
  const source = tmpNameFor(path.join(dir, 'probe'));
  const target = tmpNameFor(path.join(dir, 'probe'));
  try {
    await fsp.writeFile(source, 'dataver reflink probe');
    await fsp.copyFile(source, target, fsConstants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOTSUP' || code === 'EXDEV' || code === 'EINVAL' || code === 'ENOSYS'
      ? false
      : undefined;
  } finally {
    await fsp.rm(source, { force: true });
    await fsp.rm(target, { force: true });
  }
}

export async function run(output: Output): Promise<number> {
  const git = await runGit(process.cwd(), ['--version']).then(
    (r) =>
      r.stdout
        .toString('utf8')
        .trim()
        .replace(/^git version /, ''),
    () => null,
  );
  const { Repo } = require('../../core/repo.js') as typeof import('../../core/repo.js');
  const repo = await Repo.tryFind(process.cwd()).catch(() => undefined);
  const info = {
    dataver: cliVersion(),
    node: process.versions.node,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    git,
    executable: cliScript(),
    repository: repo
      ? {
          root: repo.root,
          cacheLink: repo.config.cache.link,
          reflink: await fsp.mkdir(repo.tmpDir, { recursive: true }).then(
            () => reflinkSupported(repo.tmpDir),
            () => undefined,
          ),
          remotes: Object.keys(repo.config.remotes),
          defaultRemote: repo.config.core.remote ?? null,
        }
      : null,
  };
  output.result(info, () => [
    `dataver ${info.dataver}`,
    `node    ${info.node}`,
    `git     ${info.git ?? 'not found'}`,
    `system  ${info.platform}`,
    `cli     ${info.executable}`,
    ...(info.repository
      ? [
          `repo    ${info.repository.root}`,
          `cache   link ${info.repository.cacheLink}; reflink ${info.repository.reflink === undefined ? 'unknown' : info.repository.reflink ? 'supported' : 'not supported (copies)'}`,
          `remotes ${info.repository.remotes.join(', ') || 'none'}${info.repository.defaultRemote ? ` (default ${info.repository.defaultRemote})` : ''}`,
        ]
      : ['repo    (not inside a dataver repository)']),
  ]);
  return 0;
}
