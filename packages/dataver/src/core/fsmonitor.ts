// The file-system monitor (`dataver fsmonitor start|stop|status`), like git's core.fsmonitor: a
// daemon watches the tracked folders and answers "what changed since token T?", so a `status`
// with nothing changed reads no folder at all. It is only ever a shortcut:
//
// - a token names the daemon's run (a random generation) and an event count; a token of another
//   run, a daemon that is not running, that lost events (a watch it could not add, the watch
//   limit, more changes than it keeps) or that does not answer in time makes status walk the
//   tree as without it;
// - before answering, the daemon writes a cookie file into a watched folder and waits for its
//   event: every event of a change made before the question is then in (one inotify queue
//   delivers them in order), so a status never misses an edit that finished before it started;
// - the tracked folders are the ones the client names: a folder the daemon was not watching yet
//   is reported unknown (walked) and watched from then on.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '@dataver/foundation';
import { sha256 } from '../hash/file.js';
import { readTextOrUndefined } from '../util/fs.js';
import { KIND_DIR, META, nativeWalk } from '../util/native-walk.js';
import type { Repo } from './repo.js';

/** Where a repository's daemon listens: a Unix socket (a named pipe on Windows). */
export function monitorAddress(root: string): string {
  const id = sha256(path.resolve(root)).slice(0, 16);
  return process.platform === 'win32'
    ? `\\\\.\\pipe\\dataver-fsmonitor-${id}`
    : path.join(os.tmpdir(), `dataver-fsmonitor-${id}.sock`);
}

/** What a question to the daemon gets back. */
export type MonitorAnswer =
  | {
      ok: true;
      token: string;
      /** Tracked folders (repository paths) with a change since the token. */
      changed: string[];
      /** Tracked folders the daemon could not vouch for (newly watched, or the token is not its own). */
      unknown: string[];
      /** How many changed paths the daemon holds since the token. */
      events: number;
      /**
       * For a changed folder: the paths below it (relative to it) that changed, when there are
       * at most DATAVER_FSMONITOR_MAX_PATHS of them and the folder itself was not replaced.
       */
      paths?: Record<string, string[]>;
    }
  | { ok: false; reason: string };

export interface MonitorInfo {
  pid: number;
  generation: string;
  watching: string[];
  watches: number;
  trusted: boolean;
  reason?: string;
  events: number;
}

type Request = { op: 'query'; since?: string; folders: string[] } | { op: 'info' } | { op: 'stop' };

/** Sends one request to the repository's daemon; undefined when none answers within `timeoutMs`. */
export function askMonitor(root: string, request: Request, timeoutMs = 2000): Promise<unknown | undefined> {
  return new Promise((resolve) => {
    let buffer = '';
    const socket = net.connect(monitorAddress(root));
    const done = (value: unknown | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      try {
        done(JSON.parse(buffer.slice(0, end)));
      } catch {
        done(undefined);
      }
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

// ------------------------------------------------------------------------------ the client side

const TOKEN_FILE = 'fsmonitor-token.json';

/** How one file of a folder differs from the version in the cache that a view is relative to. */
export interface FileDelta {
  /** Path relative to the folder. */
  path: string;
  state: 'new' | 'modified' | 'deleted';
  /** The file's hash and size now (new and modified files). */
  hash?: string;
  size?: number;
  /** The hash in the version (modified files). */
  old?: string;
}

/**
 * What a status saw in a tracked folder: its content hash then and, when that is not a version
 * in the cache, how it differs from one (`base`), so that the next status can start from it.
 */
export interface FolderView {
  /** null: not computed (a status that did not need it); `base` and `delta` say what it is. */
  hash: string | null;
  base: string;
  delta: FileDelta[];
}

/** A folder's view is kept with at most this many differing files; more, and the next status walks. */
const MAX_DELTA = 10_000;

/** What the last status saw: its token and each tracked folder then (a bare hash: no delta). */
interface SavedView {
  token: string;
  folders: Record<string, string | FolderView>;
  /** The identity of each manifest object whose bytes were checked against its hash. */
  manifests?: Record<string, string>;
}

/** The monitor's view of the tracked folders for one status. */
export class MonitorView {
  private constructor(
    private readonly repo: Repo,
    private readonly answer: Extract<MonitorAnswer, { ok: true }> | undefined,
    private readonly saved: SavedView | undefined,
    /** Why the monitor cannot help this time (for --verbose); undefined when it can. */
    readonly fallback: string | undefined,
    private readonly seen = new Map<string, string | FolderView>(),
    private readonly counts = { walked: 0, patched: 0 },
    private readonly manifests = new Map<string, string>(),
  ) {}

  /** Asks the daemon (when one runs) what changed below `folders` since the last status. */
  static async open(repo: Repo, folders: string[]): Promise<MonitorView> {
    let saved: SavedView | undefined;
    try {
      saved =
        JSON.parse((await readTextOrUndefined(path.join(repo.stateDir, TOKEN_FILE))) ?? 'null') ?? undefined;
    } catch {
      saved = undefined; // damaged: only a shortcut, walk once
    }
    if (folders.length === 0) return new MonitorView(repo, undefined, saved, 'no tracked folder');
    // Turned off for one command (like git's -c core.fsmonitor=false): the saved view stays as it is.
    if (process.env.DATAVER_FSMONITOR === '0')
      return new MonitorView(repo, undefined, undefined, 'is turned off (DATAVER_FSMONITOR=0)');
    const reply = (await askMonitor(repo.root, { op: 'query', since: saved?.token, folders })) as
      | MonitorAnswer
      | undefined;
    if (!reply) return new MonitorView(repo, undefined, saved, 'the file-system monitor is not running');
    if (!reply.ok) return new MonitorView(repo, undefined, saved, `the file-system monitor ${reply.reason}`);
    return new MonitorView(repo, reply, saved, undefined);
  }

  /**
   * The paths below `folder` (relative to it) that changed since the last status saw it: none
   * when nothing did; undefined when the monitor cannot say (then the folder must be walked).
   */
  changedPaths(folder: string): string[] | undefined {
    const a = this.answer;
    if (!a || !this.saved || a.unknown.includes(folder)) return undefined;
    if (!a.changed.includes(folder)) return [];
    return a.paths?.[folder];
  }

  /** What the last status saw in `folder`, or undefined. */
  view(folder: string): FolderView | undefined {
    const v = this.saved?.folders[folder];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? { hash: v, base: v, delta: [] } : v;
  }

  /**
   * Records what status found in a folder, to be vouched for next time: its content hash and,
   * when it is not `base`, how it differs from that version (undefined: a hash status cannot
   * vouch for, such as a folder holding symlinks; null: not computed, `base` and `delta` say it).
   */
  saw(folder: string, hash: string | null | undefined, base?: string, delta: FileDelta[] = []): void {
    if (hash === undefined) return;
    const keep = base !== undefined && hash !== base && delta.length > 0 && delta.length <= MAX_DELTA;
    if (keep) this.seen.set(folder, { hash, base, delta });
    else if (hash !== null) this.seen.set(folder, hash);
  }

  /** The identity (see `ObjectCache.readManifestChecked`) a manifest object had when last checked. */
  checkedManifest(hash: string): string | undefined {
    const known = this.saved?.manifests?.[hash];
    return typeof known === 'string' ? known : undefined;
  }

  /** Remembers that a manifest object with this identity matched its hash. */
  noteManifest(hash: string, identity: string): void {
    this.manifests.set(hash, identity);
  }

  /** Counts a folder that status walked, or read at its changed paths only (for --verbose). */
  count(how: 'walked' | 'patched'): void {
    this.counts[how]++;
  }

  /** One line for --verbose. */
  describe(): string {
    if (this.fallback) return `fsmonitor: ${this.fallback}; every tracked folder is walked`;
    const a = this.answer as Extract<MonitorAnswer, { ok: true }>;
    const { walked, patched } = this.counts;
    return (
      `fsmonitor: ${a.events} changed path(s) since the last status; ${walked} folder(s) walked, ` +
      `${patched} read at the changed paths only`
    );
  }

  /** Saves the token with what was seen (only a shortcut: a failure costs one walk). */
  async save(): Promise<void> {
    const file = path.join(this.repo.stateDir, TOKEN_FILE);
    if (process.env.DATAVER_FSMONITOR === '0') return;
    if (!this.answer) {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
      return;
    }
    const view: SavedView = {
      token: this.answer.token,
      folders: Object.fromEntries(this.seen),
      manifests: Object.fromEntries(this.manifests),
    };
    // Atomic but not synced: after a crash the old view, the new one or an empty file (read as none)
    // each leads to a correct status, and a reboot has stopped the monitor whose token it holds.
    await writeFileAtomic(file, JSON.stringify(view), { mkdir: true, sync: false }).catch(() => undefined);
  }
}

// ------------------------------------------------------------------------------ the daemon side

const MAX_CHANGES = Number(process.env.DATAVER_FSMONITOR_MAX_CHANGES) || 1_000_000;
const MAX_WATCHES = Number(process.env.DATAVER_FSMONITOR_MAX_WATCHES) || Number.POSITIVE_INFINITY;
const MAX_PATHS = Number(process.env.DATAVER_FSMONITOR_MAX_PATHS) || 10_000;
const COOKIE_TIMEOUT_MS = 1500;
/** The folder of the cookies (the repository's scratch folder). */
const TMP_DIR = '.dataver/tmp';

/**
 * The changed paths below `folder`, relative to it; undefined when the folder itself (or a
 * folder above it) changed, or when there are more than MAX_PATHS of them.
 */
function pathsBelow(changed: readonly string[], folder: string): string[] | undefined {
  const out: string[] = [];
  for (const p of changed) {
    if (p === folder || folder.startsWith(`${p}/`)) return undefined;
    if (!p.startsWith(`${folder}/`)) continue;
    if (out.length === MAX_PATHS) return undefined;
    out.push(p.slice(folder.length + 1));
  }
  return out;
}

/**
 * Runs the daemon for `root` until it is told to stop (or its socket is taken from it). Exits
 * the process at the end.
 */
export async function runMonitorDaemon(root: string, tmpDir: string, stateDir: string): Promise<void> {
  const generation = randomBytes(6).toString('hex');
  let seq = 0;
  /** Repository path → event number of its last change. */
  const changes = new Map<string, number>();
  /** Tracked folder → the event number from which the daemon vouches for it, and its inode then. */
  const folders = new Map<string, { from: number; ino: number }>();
  const watchers = new Map<string, fs.FSWatcher>();
  let trusted = true;
  let reason: string | undefined;
  const cookies = new Map<string, () => void>();

  const distrust = (why: string) => {
    if (!trusted) return;
    trusted = false;
    reason = why;
  };
  const changed = (repoPath: string) => {
    seq++;
    changes.delete(repoPath); // keep insertion order = event order
    changes.set(repoPath, seq);
    if (changes.size > MAX_CHANGES) distrust(`holds more than ${MAX_CHANGES} changes (events lost)`);
  };

  const watch = (absDir: string, repoDir: string): void => {
    if (watchers.has(absDir) || !trusted) return;
    if (watchers.size >= MAX_WATCHES) {
      distrust(`reached its limit of ${MAX_WATCHES} watched folders`);
      return;
    }
    try {
      const w = fs.watch(absDir, { persistent: true }, (_event, name) => {
        if (name === null) {
          distrust('got an event without a name (events lost)');
          return;
        }
        const file = name.toString();
        const cookie = cookies.get(file);
        if (cookie) {
          cookie();
          return;
        }
        if (repoDir === TMP_DIR) return; // only its cookies matter
        if (file === path.basename(absDir)) {
          // The watched folder itself may have gone (inotify names it by its own name), and a
          // folder made again there may even reuse its inode; or a child has the folder's name.
          // Either way: everything below is a change, and the folder is watched anew.
          changed(`${repoDir}/${file}`);
          changed(repoDir);
          folders.delete(repoDir);
          unwatchTree(absDir);
          if (fs.existsSync(absDir)) watchTree(absDir, repoDir);
          return;
        }
        const repoPath = `${repoDir}/${file}`;
        changed(repoPath);
        // A new (or replaced) folder: watched from now on; its files are changes already, by the
        // folder's path. The watches of a folder of that name before were on another inode.
        const abs = path.join(absDir, file);
        const st = fs.lstatSync(abs, { throwIfNoEntry: false });
        unwatchTree(abs);
        if (st?.isDirectory()) watchTree(abs, repoPath);
      });
      w.on('error', () => {
        // The folder went away (its parent reports that) or the watch broke: drop it, and
        // distrust only if the folder still exists.
        w.close();
        watchers.delete(absDir);
        if (fs.existsSync(absDir)) distrust(`lost its watch on ${repoDir}`);
        else changed(repoDir);
      });
      watchers.set(absDir, w);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      distrust(
        code === 'ENOSPC'
          ? 'reached the system watch limit (raise fs.inotify.max_user_watches)'
          : `cannot watch ${repoDir} (${code ?? (error as Error).message})`,
      );
    }
  };

  const unwatchTree = (absDir: string): void => {
    for (const [dir, w] of watchers)
      if (dir === absDir || dir.startsWith(`${absDir}${path.sep}`)) {
        w.close();
        watchers.delete(dir);
      }
  };

  const watchTree = (absDir: string, repoDir: string): void => {
    watch(absDir, repoDir);
    let subfolders: string[];
    try {
      const listing = nativeWalk(absDir);
      if (listing) {
        const names = listing.names.toString('utf8').split('\0');
        subfolders = names.filter((_, i) => listing.meta[i * META] === KIND_DIR);
      } else {
        subfolders = (fs.readdirSync(absDir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
          .filter((e) => e.isDirectory())
          .map((e) => path.relative(absDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
      }
    } catch {
      return; // gone already: its parent's event says so
    }
    for (const sub of subfolders) watch(path.join(absDir, sub), `${repoDir}/${sub}`);
  };

  /** Waits until every event before now has been delivered: a cookie's own event comes after them. */
  const sync = () =>
    new Promise<boolean>((resolve) => {
      const name = `.dv-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
      const file = path.join(tmpDir, name);
      const timer = setTimeout(() => finish(false), COOKIE_TIMEOUT_MS);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        cookies.delete(name);
        fs.rm(file, { force: true }, () => resolve(ok));
      };
      cookies.set(name, () => finish(true));
      fs.writeFile(file, '', (error) => {
        if (error) finish(false);
      });
    });

  const inside = (p: string, folder: string) =>
    p === folder || p.startsWith(`${folder}/`) || folder.startsWith(`${p}/`);

  const query = async (since: string | undefined, wanted: string[]): Promise<MonitorAnswer> => {
    if (!(await sync())) distrust('did not see its own cookie file in time (events lost)');
    if (!trusted) return { ok: false, reason: reason ?? 'lost events' };
    const [gen, count] = (since ?? '').split(':');
    const from = gen === generation ? Number(count) : Number.NaN;
    const unknown: string[] = [];
    for (const folder of wanted) {
      const abs = path.join(root, ...folder.split('/'));
      // Its parent is not watched: a folder deleted and made again is another inode, seen here.
      const ino = fs.statSync(abs, { throwIfNoEntry: false })?.ino ?? -1;
      const known = folders.get(folder);
      if (!known || known.ino !== ino) {
        unwatchTree(abs);
        folders.set(folder, { from: seq, ino });
        if (ino >= 0) watchTree(abs, folder);
        unknown.push(folder);
      } else if (!(from >= known.from)) unknown.push(folder);
    }
    if (!trusted) return { ok: false, reason: reason ?? 'lost events' };
    const recent = Number.isNaN(from) ? [] : [...changes].filter(([, n]) => n > from).map(([p]) => p);
    const changedFolders = wanted.filter((f) => recent.some((p) => inside(p, f)));
    return {
      ok: true,
      token: `${generation}:${seq}`,
      changed: changedFolders,
      unknown,
      events: recent.length,
      paths: Object.fromEntries(
        changedFolders.flatMap((f) => {
          const below = pathsBelow(recent, f);
          return below ? [[f, below]] : [];
        }),
      ),
    };
  };

  const address = monitorAddress(root);
  if (process.platform !== 'win32') fs.rmSync(address, { force: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  watch(tmpDir, TMP_DIR);
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', async (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      let request: Request;
      try {
        request = JSON.parse(buffer.slice(0, end));
      } catch {
        socket.end(`${JSON.stringify({ ok: false, reason: 'got a malformed request' })}\n`);
        return;
      }
      if (request.op === 'query')
        socket.end(`${JSON.stringify(await query(request.since, request.folders))}\n`);
      else if (request.op === 'info') {
        const info: MonitorInfo = {
          pid: process.pid,
          generation,
          watching: [...folders.keys()],
          watches: watchers.size,
          trusted,
          reason,
          events: seq,
        };
        socket.end(`${JSON.stringify(info)}\n`);
      } else if (request.op === 'stop') {
        socket.end(`${JSON.stringify({ ok: true })}\n`, () => shutdown());
      }
    });
  });
  const stateFile = path.join(stateDir, 'fsmonitor.json');
  const shutdown = () => {
    for (const w of watchers.values()) w.close();
    server.close();
    fs.rmSync(stateFile, { force: true });
    if (process.platform !== 'win32') fs.rmSync(address, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // A repository deleted under it (a temp folder of a test, a removed clone) ends the daemon.
  setInterval(() => {
    if (!fs.existsSync(stateDir)) shutdown();
  }, 2000).unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, resolve);
  });
  await writeFileAtomic(stateFile, JSON.stringify({ pid: process.pid, address, generation }), {
    mkdir: true,
  });
}
