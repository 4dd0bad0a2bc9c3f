// Packs the workspace packages with `npm pack` and installs the tarballs into a fresh project
// the way a user would, but offline: the project's package-lock.json pins every dependency to
// the version this repository's lock tested, so npm takes each one from its cache by integrity
// and needs no registry (and no workspace links: every package is a real folder).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The published packages, bottom of the graph first. */
export const PACKAGES = [
  { dir: 'foundation', name: '@dataver/foundation' },
  { dir: 'tensor', name: '@dataver/tensor' },
  { dir: 'dataver', name: 'dataver' },
  { dir: 'corrupt-mnist', name: 'corrupt-mnist' },
  { dir: 'trainer', name: 'trainer' },
] as const;

export type PackageName = (typeof PACKAGES)[number]['name'];

export interface PackedPackage {
  name: PackageName;
  version: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the tarball, relative to its `package/` folder. */
  files: string[];
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** Runs npm (its own CLI script under this node: no shell, the same on every OS). */
export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const cli =
    process.env.npm_execpath && /\.c?js$/.test(process.env.npm_execpath)
      ? process.env.npm_execpath
      : undefined;
  const [command, argv] = cli ? [process.execPath, [cli, ...args]] : ['npm', args];
  const r = spawnSync(command, argv, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
    shell: !cli && process.platform === 'win32',
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/**
 * Packs every package of PACKAGES into `dest` with one `npm pack`.
 *
 * @example
 * const packed = packAll(tempDir);
 */
export function packAll(
  dest: string,
  names: readonly PackageName[] = PACKAGES.map((p) => p.name),
): PackedPackage[] {
  const args = [
    'pack',
    '--json',
    '--pack-destination',
    dest,
    ...PACKAGES.filter((p) => names.includes(p.name)).flatMap((p) => ['-w', `packages/${p.dir}`]),
  ];
  const r = npm(args, REPO_ROOT);
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}):\n${r.stderr}`);
  const listed = JSON.parse(r.stdout) as {
    name: PackageName;
    version: string;
    filename: string;
    files: { path: string }[];
  }[];
  return listed.map((p) => ({
    name: p.name,
    version: p.version,
    tarball: path.join(dest, p.filename),
    files: p.files.map((f) => f.path),
  }));
}

const REGISTRY = 'https://registry.npmjs.org/';

/**
 * The registry URL of a locked package's tarball. This repository's locks omit it
 * (omit-lockfile-registry-resolved); without it npm would ask the registry for the package's
 * metadata, which the cache of an `npm ci` does not hold.
 */
function registryTarball(loc: string, entry: LockEntry): string {
  const name = typeof entry.name === 'string' ? entry.name : loc.slice(loc.lastIndexOf('node_modules/') + 13);
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return `${REGISTRY}${name}/-/${base}-${entry.version}.tgz`;
}

/** What npm records of a workspace package's manifest in a lock entry. */
const WORKSPACE_FIELDS = [
  'license',
  'dependencies',
  'optionalDependencies',
  'peerDependencies',
  'bin',
  'engines',
];

const integrityOf = (file: string): string =>
  `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;

/**
 * The package-lock.json of a project whose dependencies are the packed tarballs: each tarball at
 * `node_modules/<name>`, and every package they need, transitively, at the place and version
 * this repository's lock has it (a workspace's nested dependencies move under its folder).
 * `optional` marks what is reachable only through optional dependencies, as npm does.
 */
export function projectLock(projectName: string, packed: PackedPackage[], relativeTo: string): Lockfile {
  const repoLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const repo = repoLock.packages;
  const dirOf = new Map<string, string>(PACKAGES.map((p) => [p.name, `packages/${p.dir}`]));
  const tarballOf = new Map(packed.map((p) => [p.name as string, p]));
  const spec = (p: PackedPackage) => `file:${path.relative(relativeTo, p.tarball).split(path.sep).join('/')}`;

  // A workspace package's folder in the repository is packages/<dir>; in the project, node_modules/<name>.
  const fromRepo = (loc: string): string => {
    for (const [name, dir] of dirOf) {
      if (loc === dir || loc.startsWith(`${dir}/`)) return `node_modules/${name}${loc.slice(dir.length)}`;
    }
    return loc;
  };
  /** Where node's resolution from the package at repository location `from` finds `dep`. */
  const resolve = (from: string, dep: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base === '' ? `node_modules/${dep}` : `${base}/node_modules/${dep}`;
      if (repo[candidate]) return repo[candidate]?.link ? dirOf.get(dep) : candidate;
      if (base === '') return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut < 0 ? '' : base.slice(0, cut);
    }
  };
  /** Every location reachable from the packed packages, through required edges only or through all. */
  const reachable = (withOptional: boolean): Set<string> => {
    const seen = new Set<string>();
    const queue = packed.map((p) => dirOf.get(p.name) as string);
    while (queue.length > 0) {
      const loc = queue.shift() as string;
      if (seen.has(loc)) continue;
      seen.add(loc);
      const source = repo[loc];
      if (!source) throw new Error(`the repository lock has no entry ${loc}`);
      const required = [
        ...Object.keys(source.dependencies ?? {}),
        ...Object.keys(source.peerDependencies ?? {}).filter(
          (d) => !source.peerDependenciesMeta?.[d]?.optional,
        ),
      ];
      const optional = withOptional ? Object.keys(source.optionalDependencies ?? {}) : [];
      for (const dep of required) {
        const found = resolve(loc, dep);
        if (!found) throw new Error(`${loc} needs ${dep}, which the repository lock lacks`);
        queue.push(found);
      }
      // A platform-specific optional package may be absent from the lock: another OS's concern.
      for (const dep of optional) {
        const found = resolve(loc, dep);
        if (found) queue.push(found);
      }
    }
    return seen;
  };
  const required = reachable(false);
  const entries = new Map<string, LockEntry>();
  for (const loc of reachable(true)) {
    const {
      dev: _dev,
      devOptional: _devOptional,
      peer: _peer,
      optional: _optional,
      ...kept
    } = repo[loc] as LockEntry;
    const name = [...dirOf].find(([, d]) => d === loc)?.[0];
    const tarball = name ? tarballOf.get(name) : undefined;
    const entry: LockEntry = tarball
      ? {
          version: tarball.version,
          resolved: spec(tarball),
          integrity: integrityOf(tarball.tarball),
          ...Object.fromEntries(Object.entries(kept).filter(([k]) => WORKSPACE_FIELDS.includes(k))),
        }
      : { ...kept, resolved: kept.resolved ?? registryTarball(loc, kept) };
    if (!required.has(loc)) entry.optional = true;
    entries.set(fromRepo(loc), entry);
  }

  const packages: Record<string, LockEntry> = {
    '': {
      name: projectName,
      version: '1.0.0',
      dependencies: Object.fromEntries(packed.map((p) => [p.name, spec(p)])),
    },
  };
  for (const [loc, entry] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) packages[loc] = entry;
  // Nothing resolved to a location outside node_modules: the project holds real folders only.
  for (const loc of Object.keys(packages)) {
    if (loc !== '' && !loc.startsWith('node_modules/')) throw new Error(`unexpected lock location ${loc}`);
    if (packages[loc]?.link) throw new Error(`${loc} would be a link`);
  }
  return { name: projectName, version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

/**
 * Writes package.json (the tarballs as dependencies, this repository's `overrides`) and the
 * matching package-lock.json into `dir`: a project that `npm ci --offline` installs.
 *
 * @example
 * writeProject(dir, packAll(path.join(dir, 'vendor')));
 */
export function writeProject(dir: string, packed: PackedPackage[], name = 'packed-install-check'): void {
  const rootManifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    overrides?: Record<string, string>;
  };
  const lock = projectLock(name, packed, dir);
  const manifest = {
    name,
    version: '1.0.0',
    private: true,
    dependencies: lock.packages['']?.dependencies,
    ...(rootManifest.overrides ? { overrides: rootManifest.overrides } : {}),
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
}

/**
 * Writes the project (see writeProject) into `dir`, then runs `npm install --offline` there.
 *
 * @example
 * installPacked(dir, packAll(tgzDir), ['--omit=optional']);
 */
export function installPacked(dir: string, packed: PackedPackage[], extraArgs: string[] = []): void {
  writeProject(dir, packed);
  const r = npm(['install', '--offline', '--no-audit', '--no-fund', ...extraArgs], dir);
  if (r.code !== 0) throw new Error(`npm install --offline failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
}
