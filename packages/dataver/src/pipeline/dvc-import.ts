// `dataver import-dvc`: brings a DVC project over. `.dvc` files become tracked outputs,
// dvc.yaml becomes dataver.yaml (its templating kept: dataver.yaml reads the same vars,
// foreach, matrix and wdir), `.dvc/config` remotes become dataver remotes, and the stages whose
// dvc.lock entry matches the workspace are recorded as up to date. DVC addresses data by md5,
// dataver by sha256: nothing is taken on trust — workspace files are checked against DVC's md5
// and hashed again; objects taken from DVC's cache or remote are checked against their md5
// before they are stored by sha256. Everything is read and checked before anything is written.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { stringify } from 'yaml';
import { addPaths, checkOverlaps } from '../core/add.js';
import {
  CONFIG_FILE,
  type Config,
  defaultConfig,
  type RemoteSettings,
  readConfig,
  writeConfig,
} from '../core/config.js';
import { initRepo } from '../core/init.js';
import { locateRemote, openRemoteStorage } from '../core/remotes.js';
import { Repo } from '../core/repo.js';
import { withWriteLock } from '../core/write-lock.js';
import { runGit } from '../git/git.js';
import { readLock } from '../lock/lock-file.js';
import { caseClash, windowsNameProblem } from '../lock/portable-names.js';
import type { Storage } from '../storage/types.js';
import { lstatOrUndefined, readTextOrUndefined, toPosix } from '../util/fs.js';
import { commitTargets } from './commit.js';
import { normalizeStagePath, PIPELINE_FILE, type Pipeline, parsePipelineWith } from './config.js';
import {
  type DvcConfig,
  type DvcDirEntry,
  type DvcEntry,
  type DvcLockStage,
  dvcFileMd5,
  dvcObjectKeys,
  dvcTreeMd5,
  matchesDvcMd5,
  md5,
  parseDvcConfig,
  parseDvcDir,
  parseDvcFile,
  parseDvcLock,
  parseDvcYaml,
} from './dvc-formats.js';
import { canonicalJson, lookupParam, parseParamsFile } from './params.js';

export interface ImportDvcOptions {
  /** A DVC cache folder (e.g. `.dvc/cache`) to take missing data from. */
  fromCache?: string;
  /** A remote of `.dvc/config` to take missing data from. */
  fromRemote?: string;
  /** Replace an existing dataver.yaml. */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Something of the DVC project that was not carried over, or carried over differently. */
export interface ImportNote {
  what: string;
  why: string;
}

export interface ImportedOutput {
  path: string;
  /** Where DVC recorded it: a `.dvc` file or `dvc.lock (stage)`. */
  from: string;
  md5: string;
  /** Where the bytes came from. */
  source: 'workspace' | 'cache' | 'remote';
  /** sha256 (of the file, or of the directory's manifest) in data.lock.json. */
  hash?: string;
}

export interface ImportDvcResult {
  outputs: ImportedOutput[];
  stages: Array<{ stage: string; recorded: boolean; why?: string }>;
  remotes: Array<{ name: string; url: string }>;
  defaultRemote?: string;
  wrote: string[];
  notes: ImportNote[];
}

/** A piece of data DVC tracks, with DVC's md5 of it. */
interface DataItem {
  path: string;
  from: string;
  entry: DvcEntry;
  /** A stage output (committed with its stage) rather than a plain tracked output. */
  stage?: string;
}

const SKIP_DIRS = new Set(['.git', '.dvc', '.dataver', 'node_modules']);

/**
 * Converts the DVC project at `root` (which holds `.dvc/`). Call it from the CLI; it takes the
 * repository's write lock itself once the repository exists.
 *
 * @example
 * const result = await importDvc('/path/to/project', { fromCache: '.dvc/cache' });
 */
export async function importDvc(root: string, options: ImportDvcOptions = {}): Promise<ImportDvcResult> {
  const notes: ImportNote[] = [];
  const note = (what: string, why: string) => notes.push({ what, why });
  const dvcDir = path.join(root, '.dvc');
  if (!(await lstatOrUndefined(dvcDir))?.isDirectory()) {
    throw new DataverError('USAGE', `${root} is not a DVC project: it has no .dvc/ folder`, {
      hint: 'run `dataver import-dvc` at the root of the DVC project (where `dvc init` was run)',
    });
  }
  const dvcConfig = parseDvcConfig((await readTextOrUndefined(path.join(dvcDir, 'config'))) ?? '');
  if (await lstatOrUndefined(path.join(dvcDir, 'config.local'))) {
    note(
      '.dvc/config.local',
      'not read (it holds machine-local settings and credentials): set them with `dataver remote modify`',
    );
  }
  if ((await lstatOrUndefined(path.join(root, PIPELINE_FILE))) && !options.force) {
    throw new DataverError('USAGE', `${PIPELINE_FILE} exists already`, {
      hint: 'move it away, or replace it with --force',
    });
  }

  // 1. Read everything DVC describes.
  const items: DataItem[] = [];
  for (const dvcFile of await listDvcFiles(root)) {
    const text = present(await readTextOrUndefined(path.join(root, dvcFile)));
    const parsed = parseDvcFile(text, dvcFile);
    if (parsed.hasDeps)
      note(dvcFile, 'its source (dvc import / import-url) is not carried over: the data is tracked as it is');
    if (parsed.frozen) note(dvcFile, '`frozen` is not carried over');
    const base = path.posix.join(path.posix.dirname(dvcFile), parsed.wdir ?? '.');
    for (const out of parsed.outs) {
      const repoPath = dataPath(base, out.path, dvcFile);
      for (const d of out.dropped) note(`${dvcFile}: ${out.path}`, `option '${d}' is not carried over`);
      if (!out.cache) {
        note(
          `${dvcFile}: ${out.path}`,
          'cache: false — not tracked by dataver; commit it to git if it should be versioned',
        );
        continue;
      }
      items.push({ path: repoPath, from: dvcFile, entry: out });
    }
  }
  const dvcYamlText = await readTextOrUndefined(path.join(root, 'dvc.yaml'));
  const lockText = await readTextOrUndefined(path.join(root, 'dvc.lock'));
  const lockStages: Record<string, DvcLockStage> = lockText ? parseDvcLock(lockText) : {};
  let pipelineText: string | undefined;
  let pipeline: Pipeline | undefined;
  if (dvcYamlText !== undefined) {
    pipelineText = await convertDvcYaml(root, dvcYamlText, note);
    pipeline = await parsePipelineWith(pipelineText, `${PIPELINE_FILE} (converted from dvc.yaml)`, (f) =>
      readTextOrUndefined(path.join(root, f)),
    );
    for (const stage of pipeline.stages) {
      const locked = lockStages[stage.name];
      if (!locked) continue;
      for (const out of locked.outs) {
        const repoPath = dataPath(stage.wdir, out.path, `dvc.lock (stage ${stage.name})`);
        if (stage.outs.includes(repoPath))
          items.push({
            path: repoPath,
            from: `dvc.lock (stage ${stage.name})`,
            entry: out,
            stage: stage.name,
          });
      }
    }
    for (const name of Object.keys(lockStages)) {
      if (!pipeline.stages.some((s) => s.name === name))
        note(`dvc.lock: stage ${name}`, 'not in dvc.yaml any more: ignored');
    }
  } else if (lockText) note('dvc.lock', 'ignored: there is no dvc.yaml');
  for (const other of await listFiles(root, (f) => f.endsWith('/dvc.yaml'))) {
    note(other, 'only the dvc.yaml at the root is converted');
  }

  for (const item of items) {
    const problem = windowsNameProblem(item.path);
    if (problem) {
      throw new DataverError('PATH_INVALID', `${item.from}: ${item.path}: ${problem}`, {
        hint: 'rename it (and its .dvc entry) so that every OS can check it out, then import again',
      });
    }
  }
  const clash = caseClash(items.map((i) => i.path));
  if (clash) {
    throw new DataverError('PATH_INVALID', `${clash[0]} and ${clash[1]} differ only in letter case`, {
      hint: 'Windows and macOS hold them as one file: rename one of them, then import again',
    });
  }
  const existingConfig = (await lstatOrUndefined(path.join(root, CONFIG_FILE)))
    ? await readConfig(root)
    : undefined;
  const lockBefore = existingConfig ? await readLock(root) : undefined;
  if (lockBefore)
    checkOverlaps(
      lockBefore,
      items.filter((i) => !i.stage).map((i) => i.path),
    );

  // 2. Remotes.
  const { config, remotes, defaultRemote } = convertRemotes(
    root,
    dvcConfig,
    existingConfig ?? defaultConfig(),
    note,
  );

  // 3. Check the workspace against DVC's md5; fetch (and verify) what is missing into a staging folder.
  const staging = path.join(dvcDir, 'tmp', `dataver-import-${process.pid}`);
  const outputs: ImportedOutput[] = [];
  const source = await openObjectSource(root, dvcConfig, options);
  try {
    for (const item of items) {
      const md5Recorded = item.entry.md5;
      if (!md5Recorded) {
        note(
          item.path,
          `${item.from} records no md5 (DVC has not hashed it): hashed as it is in the workspace`,
        );
      }
      const abs = path.join(root, item.path);
      const out: ImportedOutput = {
        path: item.path,
        from: item.from,
        md5: md5Recorded ?? '',
        source: 'workspace',
      };
      if (fs.existsSync(abs)) {
        if (md5Recorded && !(await workspaceMatches(abs, md5Recorded, item.entry.legacy, source))) {
          note(
            item.path,
            `differs from ${item.from} (dvc status would say modified): the workspace version is imported`,
          );
        }
        outputs.push(out);
        continue;
      }
      if (!md5Recorded) {
        note(item.path, 'missing from the workspace and without an md5: not imported');
        continue;
      }
      if (!source) {
        note(
          item.path,
          'missing from the workspace: not imported (give --from-cache DIR or --from-remote NAME)',
        );
        continue;
      }
      const target = path.join(staging, item.path);
      const fetched = await fetchDvcData(source, md5Recorded, item.entry.legacy, target, item.path);
      if (!fetched) {
        note(item.path, `missing from the workspace and from ${source.label}: not imported`);
        continue;
      }
      out.source = source.kind;
      outputs.push(out);
    }
  } catch (error) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await source?.close();
  }

  // 4. Write: staged data into the workspace, then dataver's files.
  const wrote: string[] = [];
  for (const out of outputs.filter((o) => o.source !== 'workspace')) {
    const abs = path.join(root, out.path);
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    await fsp.rename(path.join(staging, out.path), abs);
  }
  await fsp.rm(staging, { recursive: true, force: true });
  if (!existingConfig) {
    await initRepo(root);
    wrote.push('.dataver/');
  }
  await writeConfig(root, config);
  wrote.push(CONFIG_FILE);
  if (pipelineText !== undefined) {
    await writeFileAtomic(path.join(root, PIPELINE_FILE), pipelineText);
    wrote.push(PIPELINE_FILE);
  }
  const repo = await Repo.find(root);
  const stages: ImportDvcResult['stages'] = [];
  await withWriteLock(repo, 'import-dvc', async () => {
    const plain = outputs.filter((o) => !items.find((i) => i.path === o.path)?.stage).map((o) => o.path);
    if (plain.length > 0) {
      const added = await addPaths(repo, plain);
      for (const a of added) {
        const o = outputs.find((x) => x.path === a.path);
        if (o) o.hash = a.hash;
      }
    }
    if (pipeline) {
      const agreeing: string[] = [];
      for (const stage of pipeline.stages) {
        const why = await stageDisagreement(root, stage, lockStages[stage.name]);
        if (why) stages.push({ stage: stage.name, recorded: false, why });
        else agreeing.push(stage.name);
      }
      if (agreeing.length > 0) {
        try {
          await commitTargets(repo, agreeing);
          for (const name of agreeing) stages.push({ stage: name, recorded: true });
        } catch (error) {
          if (!(error instanceof DataverError)) throw error;
          for (const name of agreeing) stages.push({ stage: name, recorded: false, why: error.message });
        }
      }
      const lock = await readLock(root);
      for (const o of outputs) o.hash ??= lock.outputs[o.path]?.hash;
    }
  });
  wrote.push('data.lock.json');
  const order = new Map((pipeline?.stages ?? []).map((s, i) => [s.name, i]));
  stages.sort((a, b) => (order.get(a.stage) ?? 0) - (order.get(b.stage) ?? 0));
  note(
    '.dvc files, dvc.yaml, dvc.lock',
    'left in place: once dataver works here, remove them with `git rm` (and `.dvc/`)',
  );
  const result: ImportDvcResult = { outputs, stages, remotes, wrote, notes };
  if (defaultRemote) result.defaultRemote = defaultRemote;
  return result;
}

function present<T>(v: T | undefined): T {
  if (v === undefined) throw new Error('a file listed a moment ago vanished');
  return v;
}

/** A path of a DVC file (relative to `base`) as a repository path; escaping or absolute ones refused. */
function dataPath(base: string, p: string, file: string): string {
  const joined = path.posix.normalize(path.posix.join(base, p.replace(/\\/g, '/')));
  const normalized =
    path.posix.isAbsolute(p) || /^[A-Za-z]:/.test(p) ? undefined : normalizeStagePath(joined);
  if (!normalized) {
    throw new DataverError('CONFIG_INVALID', `${file}: path '${p}' is not inside the project`, {
      hint: 'DVC paths are relative to the file that names them; fix it, or track that data from its own project',
    });
  }
  return normalized;
}

function listDvcFiles(root: string): Promise<string[]> {
  return listFiles(root, (f) => f.endsWith('.dvc') && path.posix.basename(f) !== '.dvc');
}

/** Files of the project: through git (committed and not ignored) when it is a git repository, else a walk. */
async function listFiles(root: string, keep: (f: string) => boolean): Promise<string[]> {
  const r = await runGit(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
  if (r.code === 0)
    return [...new Set(r.stdout.toString('utf8').split('\0').filter(Boolean))].filter(keep).sort();
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory() && !SKIP_DIRS.has(d.name)) walk(p);
      else if (d.isFile() && keep(p)) found.push(p);
    }
  };
  walk('');
  return found.sort();
}

/** dvc.yaml → dataver.yaml text; what dataver does not have is dropped and noted. */
async function convertDvcYaml(
  root: string,
  text: string,
  note: (what: string, why: string) => void,
): Promise<string> {
  const raw = parseDvcYaml(text, 'dvc.yaml');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DataverError('CONFIG_INVALID', 'dvc.yaml: expected a mapping with `stages:`', {
      hint: 'fix dvc.yaml',
    });
  }
  const top = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(top)) {
    if (key !== 'stages' && key !== 'vars') note(`dvc.yaml: ${key}`, 'top-level section not carried over');
  }
  if (top.vars !== undefined) out.vars = top.vars;
  const stages: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries((top.stages ?? {}) as Record<string, unknown>)) {
    if (spec === null || typeof spec !== 'object') {
      throw new DataverError('CONFIG_INVALID', `dvc.yaml: stages.${name}: expected a mapping`, {
        hint: 'fix dvc.yaml',
      });
    }
    const s = spec as Record<string, unknown>;
    if ('foreach' in s) {
      stages[name] = { foreach: s.foreach, do: await convertStage(root, `${name}`, s.do, note) };
    } else stages[name] = await convertStage(root, name, s, note);
  }
  out.stages = stages;
  return `# Converted from dvc.yaml by \`dataver import-dvc\`: the same stages, run by \`dataver repro\`.\n${stringify(out, { lineWidth: 0 })}`;
}

async function convertStage(
  root: string,
  name: string,
  body: unknown,
  note: (what: string, why: string) => void,
): Promise<Record<string, unknown>> {
  const s = (body ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const copy = ['matrix', 'cmd', 'wdir', 'vars', 'deps', 'always_changed', 'desc'];
  for (const [key, value] of Object.entries(s)) {
    if (copy.includes(key)) out[key] = value;
    else if (!['outs', 'metrics', 'plots', 'params'].includes(key))
      note(`dvc.yaml: stages.${name}.${key}`, 'not carried over');
  }
  if (Array.isArray(out.deps)) {
    out.deps = (out.deps as unknown[]).filter((d) => {
      const url = typeof d === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(d);
      if (url) note(`dvc.yaml: stages.${name}.deps: ${d}`, 'an external (URL) dependency: dropped');
      return !url;
    });
  }
  const outs = [...convertOuts(name, 'outs', s.outs, note), ...convertOuts(name, 'plots', s.plots, note)];
  if (Array.isArray(s.plots) && s.plots.length > 0) {
    note(`dvc.yaml: stages.${name}.plots`, 'tracked as outputs (dataver has no plots command)');
  }
  if (outs.length > 0) out.outs = outs;
  if (Array.isArray(s.metrics)) {
    out.metrics = s.metrics.map((m) => (typeof m === 'string' ? m : Object.keys(m as object)[0]));
    note(`dvc.yaml: stages.${name}.metrics`, 'metrics files are committed to git by dataver, not cached');
  }
  if (Array.isArray(s.params)) {
    const params: unknown[] = [];
    for (const p of s.params) {
      if (typeof p === 'string') params.push(p);
      else if (p && typeof p === 'object') {
        for (const [file, keys] of Object.entries(p)) {
          if (file.endsWith('.py')) {
            note(
              `dvc.yaml: stages.${name}.params: ${file}`,
              'Python params files are not read by dataver: dropped',
            );
          } else if (Array.isArray(keys)) params.push({ [file]: keys });
          else {
            // `file:` alone: every parameter of the file, as it is now.
            const text = await readTextOrUndefined(
              path.join(root, typeof s.wdir === 'string' ? s.wdir : '.', file),
            );
            const tree = text === undefined ? {} : parseParamsFile(text, file);
            const all = tree && typeof tree === 'object' ? Object.keys(tree) : [];
            params.push({ [file]: all });
            note(
              `dvc.yaml: stages.${name}.params: ${file}`,
              `all of its keys as they are now (${all.join(', ') || 'none'}); keys added later are not tracked`,
            );
          }
        }
      }
    }
    if (params.length > 0) out.params = params;
  }
  return out;
}

function convertOuts(
  name: string,
  field: string,
  list: unknown,
  note: (what: string, why: string) => void,
): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((o) => {
    if (typeof o === 'string') return o;
    const [p, options] = Object.entries((o ?? {}) as Record<string, unknown>)[0] ?? ['', {}];
    const kept: Record<string, unknown> = {};
    for (const [k, v] of Object.entries((options ?? {}) as Record<string, unknown>)) {
      if (k === 'cache' || k === 'persist' || k === 'desc') kept[k] = v;
      else note(`dvc.yaml: stages.${name}.${field}: ${p}`, `option '${k}' is not carried over`);
    }
    return Object.keys(kept).length > 0 ? { [p]: kept } : p;
  });
}

function convertRemotes(
  root: string,
  dvc: DvcConfig,
  base: Config,
  note: (what: string, why: string) => void,
): { config: Config; remotes: Array<{ name: string; url: string }>; defaultRemote?: string } {
  const config = structuredClone(base);
  const remotes: Array<{ name: string; url: string }> = [];
  for (const [name, settings] of Object.entries(dvc.remotes)) {
    const url = settings.url;
    if (!url) {
      note(`.dvc/config: remote ${name}`, 'has no url: not carried over');
      continue;
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      note(
        `.dvc/config: remote ${name}`,
        'dataver remote names use letters, digits, _ . -: not carried over',
      );
      continue;
    }
    const location = locateRemote(url, path.join(root, '.dvc'));
    if (location.kind === 'unsupported') {
      note(
        `.dvc/config: remote ${name} (${url})`,
        'dataver supports gs:// and folder remotes only: not carried over',
      );
      continue;
    }
    const remote: RemoteSettings = {
      url: location.kind === 'gcs' ? url : portableFolder(root, location.folder),
    };
    if (settings.endpointurl) remote.endpoint = settings.endpointurl;
    if (settings.projectname) remote.projectId = settings.projectname;
    if (settings.credentialpath) {
      note(
        `.dvc/config: remote ${name} credentialpath`,
        'not carried over: dataver reads GOOGLE_APPLICATION_CREDENTIALS or DATAVER_GCS_CREDENTIALS',
      );
    }
    for (const k of Object.keys(settings)) {
      if (!['url', 'endpointurl', 'projectname', 'credentialpath'].includes(k)) {
        note(`.dvc/config: remote ${name} ${k}`, 'option not carried over');
      }
    }
    const existing = config.remotes[name];
    if (existing && existing.url !== remote.url) {
      note(
        `.dvc/config: remote ${name}`,
        `dataver already has a remote of that name (${existing.url}): kept`,
      );
      continue;
    }
    config.remotes[name] = remote;
    remotes.push({ name, url: remote.url });
  }
  let defaultRemote: string | undefined;
  if (dvc.defaultRemote && config.remotes[dvc.defaultRemote] && !config.core.remote) {
    config.core.remote = dvc.defaultRemote;
    defaultRemote = dvc.defaultRemote;
  }
  if (remotes.length > 0) {
    note(
      'remotes',
      "dataver's objects (objects/sha256/, packs/, index/) go beside DVC's (files/md5/) at the same URL: run `dataver push`",
    );
  }
  return { config, remotes, defaultRemote };
}

/** A folder remote as dataver's config holds it: relative to the root when inside, else absolute. */
function portableFolder(root: string, folder: string): string {
  const rel = path.relative(root, folder);
  return rel.startsWith('..') || path.isAbsolute(rel) ? toPosix(folder) : toPosix(rel) || '.';
}

/** Where DVC objects are read from: a cache folder or a remote's storage. */
interface ObjectSource {
  kind: 'cache' | 'remote';
  label: string;
  /** The object's bytes into `dest` (its folder exists); false when it is not there. */
  fetchTo(hash: string, dest: string): Promise<string | false>;
  read(hash: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

async function openObjectSource(
  root: string,
  dvc: DvcConfig,
  options: ImportDvcOptions,
): Promise<ObjectSource | undefined> {
  if (options.fromCache !== undefined) {
    const dir = path.resolve(root, options.fromCache);
    if (!(await lstatOrUndefined(dir))?.isDirectory()) {
      throw new DataverError('PATH_NOT_FOUND', `--from-cache: ${options.fromCache} is not a folder`, {
        hint: `give DVC's cache folder (by default .dvc/cache${dvc.cacheDir ? `; .dvc/config says ${dvc.cacheDir}` : ''})`,
      });
    }
    return {
      kind: 'cache',
      label: `the DVC cache ${options.fromCache}`,
      async fetchTo(hash, dest) {
        for (const key of dvcObjectKeys(hash)) {
          const file = path.join(dir, key);
          if (!fs.existsSync(file)) continue;
          await fsp.copyFile(file, dest);
          return key;
        }
        return false;
      },
      async read(hash) {
        for (const key of dvcObjectKeys(hash)) {
          const file = path.join(dir, key);
          if (fs.existsSync(file)) return fsp.readFile(file);
        }
        return undefined;
      },
      async close() {},
    };
  }
  if (options.fromRemote !== undefined) {
    const settings = dvc.remotes[options.fromRemote];
    if (!settings?.url) {
      const known = Object.keys(dvc.remotes).join(', ') || '(none)';
      throw new DataverError(
        'REMOTE_UNKNOWN',
        `--from-remote: .dvc/config has no remote '${options.fromRemote}'`,
        {
          hint: `remotes of .dvc/config: ${known}`,
        },
      );
    }
    const location = locateRemote(settings.url, path.join(root, '.dvc'));
    const url = location.kind === 'local' ? location.folder : settings.url;
    const remote: RemoteSettings = { url };
    if (settings.endpointurl) remote.endpoint = settings.endpointurl;
    if (settings.projectname) remote.projectId = settings.projectname;
    const storage: Storage = openRemoteStorage(options.fromRemote, remote, {
      repoRoot: root,
      env: options.env ?? process.env,
    });
    const find = async (hash: string) => {
      for (const key of dvcObjectKeys(hash)) if (await storage.stat(key)) return key;
      return undefined;
    };
    return {
      kind: 'remote',
      label: `the DVC remote ${options.fromRemote} (${settings.url})`,
      async fetchTo(hash, dest) {
        const key = await find(hash);
        if (!key) return false;
        await streamPipeline(await storage.get(key), fs.createWriteStream(dest));
        return key;
      },
      async read(hash) {
        const key = await find(hash);
        return key ? storage.getBuffer(key) : undefined;
      },
      async close() {
        await storage.close?.();
      },
    };
  }
  return undefined;
}

/**
 * Fetches a file or directory (`….dir`) from DVC's cache or remote into `target`, checking every
 * object's md5. Resolves false when an object is missing; a wrong md5 is OBJECT_CORRUPT.
 */
async function fetchDvcData(
  source: ObjectSource,
  hash: string,
  legacy: boolean,
  target: string,
  repoPath: string,
): Promise<boolean> {
  const fetchFile = async (h: string, dest: string, label: string): Promise<boolean> => {
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const key = await source.fetchTo(h, dest);
    if (key === false) return false;
    const bytes = await fsp.readFile(dest);
    if (!matchesDvcMd5(bytes, h, legacy)) {
      throw new DataverError(
        'OBJECT_CORRUPT',
        `${source.label}: object ${key} (for ${label}) has md5 ${md5(bytes)}, not ${h}`,
        {
          hint: 'the DVC cache or remote is damaged: take the data from another copy (nothing was imported)',
        },
      );
    }
    return true;
  };
  if (!hash.endsWith('.dir')) return fetchFile(hash, target, repoPath);
  const listing = await source.read(hash);
  if (!listing) return false;
  if (md5(listing) !== hash.slice(0, -4)) {
    throw new DataverError(
      'OBJECT_CORRUPT',
      `${source.label}: directory object ${hash} (for ${repoPath}) has md5 ${md5(listing)}.dir`,
      {
        hint: 'the DVC cache or remote is damaged: take the data from another copy (nothing was imported)',
      },
    );
  }
  const entries = parseDvcDir(listing, hash);
  for (const e of entries) {
    const rel = normalizeStagePath(e.relpath);
    if (!rel || windowsNameProblem(rel)) {
      throw new DataverError(
        'PATH_INVALID',
        `${source.label}: directory ${repoPath} lists '${e.relpath}', which is not a portable relative path`,
        {
          hint: 'rename it in the DVC project first, then import again',
        },
      );
    }
  }
  for (const e of entries) {
    if (!(await fetchFile(e.md5, path.join(target, e.relpath), `${repoPath}/${e.relpath}`))) return false;
  }
  return true;
}

/** Whether a workspace file or directory has DVC's recorded md5. */
async function workspaceMatches(
  abs: string,
  hash: string,
  legacy: boolean,
  source?: ObjectSource,
): Promise<boolean> {
  const st = await fsp.stat(abs);
  if (!st.isDirectory())
    return !hash.endsWith('.dir') && matchesDvcMd5(await fsp.readFile(abs), hash, legacy);
  if (!hash.endsWith('.dir')) return false;
  const entries = await dirEntries(abs, legacy);
  if (dvcTreeMd5(entries).md5 === hash) return true;
  // A listing written by another DVC version may serialize differently: compare file by file.
  const listing = await source?.read(hash);
  if (!listing || md5(listing) !== hash.slice(0, -4)) return false;
  const want = parseDvcDir(listing, hash);
  const have = new Map(entries.map((e) => [e.relpath, e.md5]));
  return want.length === entries.length && want.every((e) => have.get(e.relpath) === e.md5);
}

async function dirEntries(abs: string, legacy: boolean): Promise<DvcDirEntry[]> {
  const entries: DvcDirEntry[] = [];
  const walk = async (rel: string) => {
    for (const d of await fsp.readdir(path.join(abs, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(p);
      else if (d.isFile())
        entries.push({ relpath: p, md5: dvcFileMd5(await fsp.readFile(path.join(abs, p)), legacy) });
    }
  };
  await walk('');
  return entries;
}

/** Why a stage's dvc.lock entry does not describe the workspace, or undefined when it does. */
async function stageDisagreement(
  root: string,
  stage: Pipeline['stages'][number],
  locked: DvcLockStage | undefined,
): Promise<string | undefined> {
  if (!locked) return 'not in dvc.lock (never run by DVC): it runs on the next `dataver repro`';
  if (locked.cmd !== stage.cmd) return 'its cmd differs from dvc.lock: it runs on the next `dataver repro`';
  const check = async (entries: DvcEntry[], kind: string) => {
    for (const e of entries) {
      const repoPath = normalizeStagePath(path.posix.join(stage.wdir, e.path));
      if (!repoPath || !e.md5) return `${kind} ${e.path} has no md5 in dvc.lock`;
      const abs = path.join(root, repoPath);
      if (!fs.existsSync(abs)) return `${kind} ${repoPath} is missing`;
      if (!(await workspaceMatches(abs, e.md5, e.legacy))) return `${kind} ${repoPath} differs from dvc.lock`;
    }
    return undefined;
  };
  const why = (await check(locked.deps, 'dep')) ?? (await check(locked.outs, 'out'));
  if (why) return `${why}: it runs on the next \`dataver repro\``;
  for (const [file, values] of Object.entries(locked.params)) {
    const repoFile = normalizeStagePath(path.posix.join(stage.wdir, file));
    const text = repoFile ? await readTextOrUndefined(path.join(root, repoFile)) : undefined;
    const tree = text === undefined || !repoFile ? undefined : parseParamsFile(text, repoFile);
    for (const [key, value] of Object.entries(values ?? {})) {
      if (canonicalJson(lookupParam(tree, key)) !== canonicalJson(value)) {
        return `param ${key} of ${file} differs from dvc.lock: it runs on the next \`dataver repro\``;
      }
    }
  }
  return undefined;
}
