// The architecture as a test: which package may import which, and inside each package which
// layer may import which. Reads every import of every source file with the TypeScript parser,
// so an upward import fails here before it can grow into a cycle. docs/internals.md draws it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '..');

/** Each package and the packages of ours it may import (its own package.json must agree). */
const PACKAGES: Record<string, { name: string; mayImport: string[] }> = {
  foundation: { name: '@dataver/foundation', mayImport: [] },
  tensor: { name: '@dataver/tensor', mayImport: ['foundation'] },
  dataver: { name: 'dataver', mayImport: ['foundation', 'tensor'] },
  'corrupt-mnist': { name: 'corrupt-mnist', mayImport: ['foundation', 'tensor'] },
  trainer: { name: 'trainer', mayImport: ['foundation', 'tensor', 'dataver', 'corrupt-mnist'] },
};

/**
 * Layers inside a package, by rank: a module may import modules of its own layer and of layers
 * of lower rank, never higher, never a peer of the same rank. A layer is the first folder under
 * src/ (or the file name for files directly in src/). Unlisted layers fail the test, so that a
 * new folder gets a place in the picture.
 */
const LAYERS: Record<string, Record<string, number>> = {
  foundation: { index: 9, cli: 2, fs: 1, errors: 0, random: 0 },
  tensor: { index: 9, file: 4, stats: 3, format: 2, container: 1, dtype: 0 },
  dataver: {
    index: 9,
    cli: 8,
    pipeline: 7,
    core: 6,
    odb: 5,
    meta: 4,
    git: 4,
    hash: 3,
    lock: 2,
    storage: 1,
    util: 0,
  },
  'corrupt-mnist': {
    index: 9,
    cli: 8,
    generate: 6,
    import: 6,
    process: 5,
    preview: 5,
    recipe: 4,
    idx: 4,
    'raw-set': 4,
    'fs-util': 3,
    'recipe-names': 0,
  },
  trainer: {
    index: 9,
    cli: 8,
    serve: 7,
    evaluate: 7,
    train: 6,
    sweep: 6,
    predict: 6,
    parallel: 5,
    batch: 4,
    report: 5,
    config: 4,
    model: 3,
    optim: 2,
    data: 2,
    backend: 2,
  },
};

interface SourceImport {
  file: string;
  specifier: string;
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(p);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [p] : [];
  });
}

function importsOf(file: string): SourceImport[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((i) => ({ file, specifier: i.fileName }));
}

const ourNames = new Map(Object.entries(PACKAGES).map(([dir, p]) => [p.name, dir]));

/** The package of ours a bare specifier names (`dataver`, `@dataver/tensor/…`), if any. */
function packageOfSpecifier(specifier: string): string | undefined {
  for (const [name, dir] of ourNames) {
    if (specifier === name || specifier.startsWith(`${name}/`)) return dir;
  }
  return undefined;
}

/** Imports of a package's sources that break the package graph. */
function packageProblems(pkg: string, srcDir: string, declared: Set<string>): string[] {
  const allowed = new Set(PACKAGES[pkg]?.mayImport);
  const problems: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    for (const { specifier } of importsOf(file)) {
      const where = path.relative(root, file);
      const target = packageOfSpecifier(specifier);
      if (target && target !== pkg) {
        if (!allowed.has(target))
          problems.push(`${where}: imports ${specifier} (${pkg} may not use ${target})`);
        else if (!declared.has(PACKAGES[target]?.name ?? ''))
          problems.push(`${where}: ${specifier} is not in package.json`);
        if (/\/(src|dist)(\/|$)/.test(specifier)) problems.push(`${where}: reaches into ${specifier}`);
      }
      const resolved = path.resolve(path.dirname(file), specifier);
      const ownManifest = resolved === path.join(srcDir, '..', 'package.json');
      if (specifier.startsWith('.') && !ownManifest && !resolved.startsWith(srcDir))
        problems.push(`${where}: relative import ${specifier} leaves the package`);
    }
  }
  return problems;
}

/** Imports of a package's sources that go up (or sideways) between its layers. */
function layerProblems(pkg: string, srcDir: string): string[] {
  const ranks = LAYERS[pkg] ?? {};
  const layer = (file: string): string => {
    const rel = path.relative(srcDir, file).split(path.sep);
    const first = rel[0] ?? '';
    return rel.length > 1 ? first : first.replace(/\.ts$/, '');
  };
  const problems: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const from = layer(file);
    if (!(from in ranks)) {
      problems.push(`${path.relative(root, file)}: layer '${from}' has no rank in test/architecture.test.ts`);
      continue;
    }
    for (const { specifier } of importsOf(file)) {
      // Bare specifiers are the package graph's business; the package's own manifest sits below src/.
      if (!specifier.startsWith('.') || specifier.endsWith('package.json')) continue;
      const to = layer(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      if (to === from) continue;
      const a = ranks[from] ?? -1;
      const b = ranks[to] ?? Number.POSITIVE_INFINITY;
      if (b >= a)
        problems.push(`${path.relative(root, file)} (${from}, ${a}) imports ${specifier} (${to}, ${b})`);
    }
  }
  return problems;
}

const packages = Object.keys(PACKAGES);
const srcOf = (pkg: string): string => path.join(root, 'packages', pkg, 'src');

describe('architecture', () => {
  test('every package on disk is in the picture', () => {
    const onDisk = fs
      .readdirSync(path.join(root, 'packages'))
      .filter((d) => fs.existsSync(path.join(root, 'packages', d, 'package.json')));
    expect(onDisk.sort()).toEqual([...packages].sort());
  });

  test.each(packages)('%s imports only the packages below it, and declares them', (pkg) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'packages', pkg, 'package.json'), 'utf8'));
    const declared = new Set(Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }));
    expect(packageProblems(pkg, srcOf(pkg), declared)).toEqual([]);
  });

  test.each(packages)('%s: no layer imports a layer above it', (pkg) => {
    expect(layerProblems(pkg, srcOf(pkg))).toEqual([]);
  });

  test('the rules catch an upward import, a sideways one, a package above and a reach into src', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'architecture-'));
    try {
      const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      write('core/a.ts', "import { b } from '../cli/b.js';\nimport { g } from '../git/g.js';\n");
      write('cli/b.ts', "import { a } from '../core/a.js';\n");
      write('git/g.ts', "import { m } from '../meta/m.js';\nimport x from 'trainer';\n");
      write('meta/m.ts', "import { y } from '@dataver/tensor/src/pt';\n");
      const layers = layerProblems('dataver', dir);
      expect(layers).toHaveLength(2);
      expect(layers.join('\n')).toMatch(/core\/a\.ts \(core, 6\) imports \.\.\/cli\/b\.js/);
      expect(layers.join('\n')).toMatch(/git\/g\.ts \(git, 4\) imports \.\.\/meta\/m\.js \(meta, 4\)/);
      const deps = packageProblems('dataver', dir, new Set(['@dataver/tensor']));
      expect(deps.join('\n')).toMatch(/dataver may not use trainer/);
      expect(deps.join('\n')).toMatch(/reaches into @dataver\/tensor\/src\/pt/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
