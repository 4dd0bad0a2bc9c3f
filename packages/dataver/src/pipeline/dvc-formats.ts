// DVC's files, read as DVC writes them: `.dvc` files, dvc.lock (schema 2.0), `.dvc/config`
// (INI), and DVC's md5 (of a file: its bytes, or for DVC 2's entries without `hash: md5` the
// bytes of a text file with CRLF turned into LF; of a directory: the md5 of its `.dir` listing,
// a JSON list of {md5, relpath} sorted by relpath, plus `.dir`). Pure functions.
import { createHash } from 'node:crypto';
import { DataverError } from '@dataver/foundation';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { firstIssue, firstYamlError } from '../util/parse-errors.js';

/** One output (or dependency) entry as DVC records it. */
export interface DvcEntry {
  /** As written: relative to the `.dvc` file's folder (and its wdir), or to the stage's wdir. */
  path: string;
  /** DVC's md5 (`….dir` for a directory); absent when DVC has not computed it. */
  md5?: string;
  size?: number;
  nfiles?: number;
  /** True for DVC 2 entries (no `hash: md5`): md5 of text files after CRLF → LF. */
  legacy: boolean;
  cache: boolean;
  persist: boolean;
  /** Fields dataver does not carry over (remote, push, desc, …). */
  dropped: string[];
}

const entrySchema = z
  .object({
    path: z.string().min(1),
    md5: z
      .string()
      .regex(/^[0-9a-f]{32}(\.dir)?$/, 'must be a 32-digit md5 (…​.dir for a directory)')
      .optional(),
    hash: z.string().optional(),
    size: z.number().int().nonnegative().optional(),
    nfiles: z.number().int().nonnegative().optional(),
    cache: z.boolean().optional(),
    persist: z.boolean().optional(),
  })
  .passthrough();

const KNOWN_ENTRY_KEYS = new Set(['path', 'md5', 'hash', 'size', 'nfiles', 'cache', 'persist']);

function invalid(file: string, message: string, hint: string): DataverError {
  return new DataverError('CONFIG_INVALID', `${file}: ${message}`, { hint });
}

/**
 * Parses YAML text of a DVC file; errors name the file and line.
 *
 * @example
 * parseDvcYaml('outs:\n- path: data\n', 'data.dvc'); // { outs: [{ path: 'data' }] }
 */
export function parseDvcYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const error = firstYamlError(doc, lines);
  if (error) {
    throw invalid(
      `${file}:${error.line}:${error.col}`,
      `not valid YAML: ${error.message}`,
      `fix ${file}, or restore it from git`,
    );
  }
  try {
    return doc.toJS() ?? {};
  } catch (e) {
    throw invalid(file, `not valid YAML: ${(e as Error).message}`, `fix ${file}, or restore it from git`);
  }
}

function toEntry(raw: unknown, file: string, where: string): DvcEntry {
  const result = entrySchema.safeParse(raw);
  if (!result.success) {
    const issue = firstIssue(result.error);
    throw invalid(
      file,
      `${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`,
      `fix ${file} (DVC's format: path, md5, size, nfiles, hash)`,
    );
  }
  const e = result.data;
  const entry: DvcEntry = {
    path: e.path,
    legacy: e.hash !== 'md5',
    cache: e.cache !== false,
    persist: e.persist === true,
    dropped: Object.keys(e).filter((k) => !KNOWN_ENTRY_KEYS.has(k)),
  };
  if (e.md5 !== undefined) entry.md5 = e.md5;
  if (e.size !== undefined) entry.size = e.size;
  if (e.nfiles !== undefined) entry.nfiles = e.nfiles;
  if (e.hash !== undefined && e.hash !== 'md5') entry.dropped.push(`hash: ${e.hash}`);
  return entry;
}

/** A `.dvc` file: what `dvc add` (or `dvc import`) wrote. */
export interface DvcFile {
  outs: DvcEntry[];
  /** A `wdir` the paths are relative to (inside the `.dvc` file's folder). */
  wdir?: string;
  /** `dvc import`/`import-url`: where the data came from (not carried over). */
  hasDeps: boolean;
  frozen: boolean;
}

/**
 * Parses a `.dvc` file.
 *
 * @example
 * parseDvcFile('outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  hash: md5\n  path: a.txt\n', 'a.txt.dvc');
 */
export function parseDvcFile(text: string, file: string): DvcFile {
  const raw = parseDvcYaml(text, file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(file, 'expected a mapping with `outs:`', `fix ${file}, or restore it from git`);
  }
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.outs) || r.outs.length === 0) {
    throw invalid(file, 'has no `outs:` list', `a .dvc file lists what it tracks under outs: (see dvc add)`);
  }
  const result: DvcFile = {
    outs: r.outs.map((o, i) => toEntry(o, file, `outs[${i}]`)),
    hasDeps: Array.isArray(r.deps) && r.deps.length > 0,
    frozen: r.frozen === true,
  };
  if (typeof r.wdir === 'string') result.wdir = r.wdir;
  return result;
}

/** One stage of dvc.lock. */
export interface DvcLockStage {
  cmd: string;
  deps: DvcEntry[];
  /** params file (relative to wdir) → key → value. */
  params: Record<string, Record<string, unknown>>;
  outs: DvcEntry[];
}

/**
 * Parses dvc.lock (schema 2.0: `schema: '2.0'` and `stages:`).
 *
 * @example
 * parseDvcLock("schema: '2.0'\nstages: {}\n", 'dvc.lock'); // {}
 */
export function parseDvcLock(text: string, file = 'dvc.lock'): Record<string, DvcLockStage> {
  const raw = parseDvcYaml(text, file) as Record<string, unknown>;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(file, 'expected a mapping', `fix ${file}, or run \`dvc repro\` with DVC to write it again`);
  }
  if (raw.schema !== '2.0') {
    throw invalid(
      file,
      `schema ${JSON.stringify(raw.schema ?? '(none)')} is not read (only 2.0, DVC ≥ 2.0)`,
      'update it with a recent DVC (`dvc repro` rewrites it), or import without dvc.lock',
    );
  }
  const stages: Record<string, DvcLockStage> = {};
  const list = (v: unknown, where: string) => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw invalid(file, `${where}: expected a list`, `fix ${file}`);
    return v.map((x, i) => toEntry(x, file, `${where}[${i}]`));
  };
  for (const [name, s] of Object.entries((raw.stages ?? {}) as Record<string, unknown>)) {
    if (s === null || typeof s !== 'object')
      throw invalid(file, `stages.${name}: expected a mapping`, `fix ${file}`);
    const st = s as Record<string, unknown>;
    const cmd = Array.isArray(st.cmd) ? st.cmd.join(' && ') : st.cmd;
    if (typeof cmd !== 'string') throw invalid(file, `stages.${name}.cmd: expected a string`, `fix ${file}`);
    const params = (st.params ?? {}) as Record<string, Record<string, unknown>>;
    stages[name] = {
      cmd,
      deps: list(st.deps, `stages.${name}.deps`),
      params: typeof params === 'object' && params !== null ? params : {},
      outs: list(st.outs, `stages.${name}.outs`),
    };
  }
  return stages;
}

/** The remotes and default remote of `.dvc/config`. */
export interface DvcConfig {
  defaultRemote?: string;
  remotes: Record<string, Record<string, string>>;
  /** `cache.dir` when set (relative to .dvc/). */
  cacheDir?: string;
}

/**
 * Parses `.dvc/config` (configobj INI: `[core]`, `['remote "name"']`, `key = value`).
 *
 * @example
 * parseDvcConfig("[core]\n    remote = store\n['remote \"store\"']\n    url = gs://b/p\n").remotes.store.url; // 'gs://b/p'
 */
export function parseDvcConfig(text: string, file = '.dvc/config'): DvcConfig {
  const config: DvcConfig = { remotes: {} };
  let section: string | undefined;
  for (const [n, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(['"]?)(.*?)\1\s*\]$/.exec(line);
    if (header) {
      section = (header[2] ?? '').trim();
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv || section === undefined) {
      throw invalid(
        `${file}:${n + 1}`,
        `cannot read '${line}'`,
        `fix ${file} (INI: [section] then key = value)`,
      );
    }
    const key = (kv[1] ?? '').trim().toLowerCase();
    const value = (kv[2] ?? '').trim().replace(/^(['"])(.*)\1$/, '$2');
    const remote = /^remote\s+"(.+)"$/.exec(section);
    if (remote?.[1] !== undefined) {
      const settings = config.remotes[remote[1]] ?? {};
      settings[key] = value;
      config.remotes[remote[1]] = settings;
    } else if (section === 'core' && key === 'remote') config.defaultRemote = value;
    else if (section === 'cache' && key === 'dir') config.cacheDir = value;
  }
  return config;
}

const TEXT_CHARS = new Set<number>([...Array.from({ length: 95 }, (_, i) => i + 32), 10, 13, 9, 12, 8]);

/**
 * DVC's text test of a file's first 512 bytes: no NUL and at most 30 % other non-text bytes.
 *
 * @example
 * isDvcText(Buffer.from('a,b\r\n')); // true
 */
export function isDvcText(bytes: Buffer): boolean {
  const block = bytes.subarray(0, 512);
  if (block.length === 0) return true;
  let other = 0;
  for (const b of block) {
    if (b === 0) return false;
    if (!TEXT_CHARS.has(b)) other++;
  }
  return other / block.length <= 0.3;
}

/**
 * Whether bytes have the md5 DVC recorded: the plain md5, or for a legacy (DVC 2) entry of a
 * text file, the md5 after CRLF → LF.
 *
 * @example
 * matchesDvcMd5(Buffer.from('a'), '0cc175b9c0f1b6a831c399e269772661', false); // true
 */
export function matchesDvcMd5(bytes: Buffer, expected: string, legacy: boolean): boolean {
  if (md5(bytes) === expected) return true;
  return legacy && isDvcText(bytes) && md5(dos2unix(bytes)) === expected;
}

/**
 * DVC's md5 of a file's bytes (for a legacy entry: of a text file after CRLF → LF).
 *
 * @example
 * dvcFileMd5(Buffer.from('a\r\n'), true) === dvcFileMd5(Buffer.from('a\n'), false); // true
 */
export function dvcFileMd5(bytes: Buffer, legacy: boolean): string {
  return md5(legacy && isDvcText(bytes) ? dos2unix(bytes) : bytes);
}

export function md5(bytes: Buffer | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

function dos2unix(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

/** One file of a DVC directory listing (`.dir` object). */
export interface DvcDirEntry {
  md5: string;
  relpath: string;
}

/**
 * The `.dir` listing's bytes as DVC writes them (Python's `json.dumps(..., sort_keys=True)`) and
 * the directory's md5 (`….dir`).
 *
 * @example
 * dvcTreeMd5([{ relpath: 'a.txt', md5: '0cc1…' }]).md5; // '….dir'
 */
export function dvcTreeMd5(entries: DvcDirEntry[]): { bytes: Buffer; md5: string } {
  const sorted = [...entries].sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  const text = `[${sorted.map((e) => `{"md5": ${pyJson(e.md5)}, "relpath": ${pyJson(e.relpath)}}`).join(', ')}]`;
  const bytes = Buffer.from(text, 'utf8');
  return { bytes, md5: `${md5(bytes)}.dir` };
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii: every non-ASCII character escaped). */
function pyJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Parses and checks a `.dir` object's bytes: a list of {md5, relpath} with safe relative paths.
 *
 * @example
 * parseDvcDir(Buffer.from('[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a.txt"}]'), 'x.dir');
 */
export function parseDvcDir(bytes: Buffer, label: string): DvcDirEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new DataverError('OBJECT_CORRUPT', `DVC directory object ${label} is not JSON`, {
      hint: 'the DVC cache or remote is damaged: take the data from another copy',
    });
  }
  const schema = z.array(
    z.object({ md5: z.string().regex(/^[0-9a-f]{32}$/), relpath: z.string().min(1) }).passthrough(),
  );
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new DataverError(
      'OBJECT_CORRUPT',
      `DVC directory object ${label} is not a list of {md5, relpath}`,
      {
        hint: 'the DVC cache or remote is damaged: take the data from another copy',
      },
    );
  }
  return result.data.map((e) => ({ md5: e.md5, relpath: e.relpath }));
}

/**
 * Where DVC keeps an object in a cache or remote: DVC 3 under `files/md5/`, DVC 2 at the top.
 *
 * @example
 * dvcObjectKeys('0cc175b9c0f1b6a831c399e269772661'); // ['files/md5/0c/c175…', '0c/c175…']
 */
export function dvcObjectKeys(hash: string): string[] {
  const rest = `${hash.slice(0, 2)}/${hash.slice(2)}`;
  return [`files/md5/${rest}`, rest];
}
