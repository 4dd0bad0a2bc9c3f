// A dataver repository: its root (the folder holding .dataver/), settings,
// cache, and the rules for turning user paths into repository paths.
import { promises as fsp, lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { isSafeRelativePath, RESERVED_TOP_LEVEL } from '../lock/paths.js';
import { ObjectCache } from '../odb/cache.js';
import { lstatOrUndefined, toPosix } from '../util/fs.js';
import { CONFIG_DIR, CONFIG_FILE, type Config, readConfig } from './config.js';

export class Repo {
  readonly dataverDir: string;
  readonly cache: ObjectCache;
  readonly tmpDir: string;
  readonly stateDir: string;

  constructor(
    readonly root: string,
    readonly config: Config,
  ) {
    this.dataverDir = path.join(root, CONFIG_DIR);
    this.tmpDir = path.join(this.dataverDir, 'tmp');
    this.stateDir = stateDirOf(root);
    this.cache = new ObjectCache(path.join(this.dataverDir, 'cache'), this.tmpDir);
  }

  /**
   * Finds the repository that contains `cwd` (walking up to the folder with .dataver/config.json).
   *
   * @example
   * const repo = await Repo.find(process.cwd());
   */
  static async find(cwd: string): Promise<Repo> {
    const root = await findRoot(cwd);
    if (!root) {
      throw new DataverError('NOT_A_REPO', `not inside a dataver repository (searched up from ${cwd})`, {
        hint: 'run `dataver init` at the root of your project',
      });
    }
    return new Repo(root, await readConfig(root));
  }

  /** Like `find`, but undefined outside a repository. */
  static async tryFind(cwd: string): Promise<Repo | undefined> {
    const root = await findRoot(cwd);
    return root ? new Repo(root, await readConfig(root)) : undefined;
  }

  /**
   * Turns a user-supplied path (relative to `cwd` or absolute) into a repository path
   * (`/`-separated, relative to the root). Paths outside the repository, into .dataver/ or .git/,
   * or through a symlink that leaves the repository are refused.
   */
  toRepoPath(userPath: string, cwd: string = process.cwd()): string {
    const absolute = path.resolve(cwd, userPath);
    const relOs = path.relative(this.root, absolute);
    if (relOs === '..' || relOs.startsWith(`..${path.sep}`) || path.isAbsolute(relOs)) {
      throw new DataverError('PATH_OUTSIDE_REPO', `${userPath} is outside the repository at ${this.root}`, {
        hint: 'give a path inside the repository (below the folder that holds .dataver/)',
      });
    }
    const rel = toPosix(relOs);
    if (rel === '') {
      throw new DataverError('USAGE', `${userPath} is the repository root`, {
        hint: 'give the files or folders inside it that hold data',
      });
    }
    const first = rel.split('/')[0];
    if (first === CONFIG_DIR || first === '.git' || rel.split('/').includes('.git')) {
      throw new DataverError(
        'PATH_OUTSIDE_REPO',
        `${userPath} is inside ${first === CONFIG_DIR ? CONFIG_DIR : '.git'}/, which is managed by ${first === CONFIG_DIR ? 'dataver' : 'git'} itself`,
        {
          hint: 'track your data files, not repository internals',
        },
      );
    }
    if (RESERVED_TOP_LEVEL.has(rel)) {
      throw new DataverError('USAGE', `${userPath} describes the repository itself and is versioned by git`, {
        hint: 'commit it with git; dataver tracks data',
      });
    }
    if (!isSafeRelativePath(rel)) {
      throw new DataverError('USAGE', `${JSON.stringify(userPath)}: dataver cannot track this name`, {
        hint: 'rename it: names with backslashes or control characters are not portable',
      });
    }
    this.assertNoEscapingSymlink(absolute, userPath);
    return rel;
  }

  /**
   * Repository paths for commands that act on a selection of outputs: undefined (everything)
   * when none is given or one of them is the repository root.
   */
  toRepoSelection(userPaths: string[], cwd: string = process.cwd()): string[] | undefined {
    if (userPaths.length === 0) return undefined;
    if (userPaths.some((p) => path.resolve(cwd, p) === this.root)) return undefined;
    return userPaths.map((p) => this.toRepoPath(p, cwd));
  }

  /**
   * Refuses to write through a symlinked parent: a hostile commit could commit a link
   * (`escape -> /etc`) and a lock entry `escape/x`. Checked before every write or delete.
   */
  assertPlainParents(repoPath: string, verified: Set<string> = new Set()): void {
    const parts = repoPath.split('/');
    let current = '';
    for (const part of parts.slice(0, -1)) {
      current = current === '' ? part : `${current}/${part}`;
      if (verified.has(current)) continue;
      let st: import('node:fs').Stats | undefined;
      try {
        st = lstatSync(this.abs(current));
      } catch {
        return; // does not exist yet: nothing below it can exist either
      }
      if (st.isSymbolicLink()) {
        throw new DataverError('PATH_OUTSIDE_REPO', `${repoPath}: its folder ${current} is a symlink`, {
          hint: `dataver does not write through symlinked folders; replace ${current} by a real folder`,
        });
      }
      verified.add(current);
    }
  }

  /** Absolute OS path of a repository path. */
  abs(repoPath: string): string {
    return path.join(this.root, ...repoPath.split('/'));
  }

  /** Refuses a path whose real location (following symlinks) is outside the repository. */
  assertNoEscapingSymlink(absolute: string, shown: string): void {
    let real: string;
    try {
      real = realpathSync(absolute);
    } catch {
      return; // does not exist (yet): nothing to follow
    }
    const realRoot = realpathSync(this.root);
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
      throw new DataverError(
        'PATH_OUTSIDE_REPO',
        `${shown} is a symlink that leads outside the repository (to ${real})`,
        {
          hint: 'copy the data into the repository instead of linking to it',
        },
      );
    }
  }
}

/**
 * `.dataver/state/` of a repository root: what dataver remembers between commands (stat cache,
 * copies of remote index segments); ignored by git and safe to delete.
 *
 * @example
 * stateDirOf('/repo'); // '/repo/.dataver/state'
 */
export function stateDirOf(root: string): string {
  return path.join(root, CONFIG_DIR, 'state');
}

async function findRoot(start: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  for (;;) {
    const st = await lstatOrUndefined(path.join(dir, CONFIG_FILE));
    if (st?.isFile()) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Creates the internal folders that are not committed. */
export async function ensureInternalDirs(repo: Repo): Promise<void> {
  await Promise.all([repo.cache.ensureDirs(), fsp.mkdir(repo.stateDir, { recursive: true })]);
}
