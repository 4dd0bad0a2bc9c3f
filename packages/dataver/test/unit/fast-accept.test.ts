// The zod-free checks that read data.lock.json and .dataver/config.json on every command must
// never accept what the zod schemas refuse, nor return anything else than they would: accepted ⇒
// the schema accepts the same input and returns an equal value. What they do not accept goes to
// the schema, so they may refuse more — but not the locks and configs dataver itself writes.
import * as fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { acceptConfig } from '../../src/core/config';
import { configSchema } from '../../src/core/config-schema';
import { acceptLock } from '../../src/lock/accept';
import { lockSchema } from '../../src/lock/schema';

const root = path.resolve(__dirname, '../../../..');
const hash = fc.constantFrom('ab'.repeat(32), 'AB'.repeat(32), 'abc');
const count = fc.constantFrom(0, 7, -1, 1.5, 2 ** 60, '3');
/** Objects that sometimes hold a key no schema knows. */
const withExtra = <T extends object>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, fc.boolean()).map(([o, extra]) => (extra ? { ...o, extra: 1 } : o));

const summary = withExtra(
  fc.record(
    {
      name: fc.constantFrom('x', 3),
      dtype: fc.constantFrom('float32', 5),
      shape: fc.array(count, { maxLength: 3 }),
      mean: fc.constantFrom(0.5, 'a'),
      max: fc.constantFrom(1, null),
    },
    { requiredKeys: ['dtype', 'shape'] },
  ),
);
const tensorMeta = withExtra(
  fc.record({ format: fc.constantFrom('pt', 1), tensors: fc.array(summary, { maxLength: 2 }) }),
);
const meta = fc.oneof(
  tensorMeta,
  fc.dictionary(fc.constantFrom('a.pt', 'b.pt', 'format'), tensorMeta, { maxKeys: 2 }),
  fc.constant('x'),
);
const source = withExtra(
  fc.record(
    {
      url: fc.constantFrom('https://x', ''),
      rev: fc.constantFrom('main', ''),
      commit: fc.constantFrom('a'.repeat(40), 'a'.repeat(39)),
      path: fc.constantFrom('data/raw', '../up'),
    },
    { requiredKeys: ['url', 'commit', 'path'] },
  ),
);
const output = withExtra(
  fc.record(
    {
      hash,
      size: count,
      files: count,
      kind: fc.constantFrom('file', 'dir', 'link'),
      stage: fc.constantFrom('prepare', 4),
      meta,
      import: source,
    },
    { requiredKeys: ['hash', 'size', 'kind'] },
  ),
);
const repoPath = fc.constantFrom(
  'data',
  'data/raw',
  'models',
  '.git/x',
  '../out',
  '.dataver/c',
  'a\\b',
  '__proto__',
);
const pathHashes = fc.dictionary(repoPath, hash, { maxKeys: 2 });
const stage = withExtra(
  fc.record({
    cmd: fc.constantFrom('python x.py', 3),
    deps: pathHashes,
    params: fc.dictionary(fc.string(), fc.jsonValue()),
    outs: pathHashes,
  }),
);
const lock = withExtra(
  fc.record(
    {
      version: fc.constantFrom(1, 2),
      outputs: fc.dictionary(repoPath, output, { maxKeys: 3 }),
      stages: fc.dictionary(fc.constantFrom('prepare', 'train'), stage, { maxKeys: 2 }),
    },
    { requiredKeys: ['version', 'outputs'] },
  ),
);

/** Over generated inputs: whatever `fast` accepts, `schema` accepts and returns as the same JSON. */
function holdsToSchema(
  inputs: fc.Arbitrary<unknown>,
  fast: (raw: unknown) => unknown,
  schema: { safeParse(raw: unknown): { success: boolean; data?: unknown } },
) {
  let accepted = 0;
  fc.assert(
    fc.property(inputs, (raw) => {
      const value = fast(raw);
      if (!value) return;
      accepted++;
      const slow = schema.safeParse(raw);
      expect(slow.success).toBe(true);
      expect(JSON.stringify(value)).toBe(JSON.stringify(slow.data)); // keys in the same order too
    }),
    { numRuns: 2000 },
  );
  expect(accepted).toBeGreaterThan(0); // the generator reaches the fast path (some 1 %)
}

test('an accepted lock is one the schema accepts, unchanged', () =>
  holdsToSchema(lock, acceptLock, lockSchema));

test("dataver's own lock and config take the fast path", () => {
  const ownLock = JSON.parse(fs.readFileSync(path.join(root, 'data.lock.json'), 'utf8'));
  expect(JSON.stringify(acceptLock(ownLock))).toBe(JSON.stringify(lockSchema.parse(ownLock)));
  const ownConfig = JSON.parse(fs.readFileSync(path.join(root, '.dataver/config.json'), 'utf8'));
  expect(JSON.stringify(acceptConfig(ownConfig))).toBe(JSON.stringify(configSchema.parse(ownConfig)));
  expect(acceptConfig({ version: 1 })).toEqual(configSchema.parse({ version: 1 }));
});

const remote = withExtra(
  fc.record(
    {
      url: fc.constantFrom('gs://b/p', ''),
      endpoint: fc.constantFrom('http://localhost:9199', 1),
      credentials: fc.constantFrom('key.json'),
      jobs: fc.constantFrom(1, 0, 256, 257, 2.5),
      packThreshold: fc.constantFrom(0, -1, 4096),
    },
    { requiredKeys: ['url'] },
  ),
);
const config = withExtra(
  fc.record(
    {
      version: fc.constantFrom(1, 2),
      core: withExtra(fc.record({ remote: fc.constantFrom('local', 3) }, { requiredKeys: [] })),
      cache: withExtra(
        fc.record(
          { link: fc.constantFrom('copy', 'reflink', 'hardlink', 'symlink', 'move') },
          { requiredKeys: [] },
        ),
      ),
      remotes: fc.dictionary(fc.constantFrom('local', 'gcs', 'bad name', '__proto__'), remote, {
        maxKeys: 2,
      }),
      plugins: fc.oneof(fc.array(fc.constantFrom('p', 3), { maxLength: 2 }), fc.constant('p')),
    },
    { requiredKeys: ['version'] },
  ),
);

test('an accepted config is what the schema makes of it, defaults included', () =>
  holdsToSchema(config, acceptConfig, configSchema));
