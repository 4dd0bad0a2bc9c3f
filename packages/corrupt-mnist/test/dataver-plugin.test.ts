// The `corrupt-mnist/dataver-plugin` export, loaded by dataver's readTensorMeta the way
// `dataver add` does it: resolved from the repository root, never imported by dataver.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clearMetaPluginCache, readTensorMeta } from '../../dataver/src/meta/index';
import { serializePt, writeTensor } from '../src/index';

const REPO_ROOT = path.resolve(__dirname, '../../..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-plugin-'));
  clearMetaPluginCache();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('.pt files get dtype, shape and statistics through the plugin', async () => {
  const f = path.join(dir, 'images.pt');
  await writeTensor(f, {
    dtype: 'float32',
    shape: [2, 1, 2, 2],
    data: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]),
  });
  const t = path.join(dir, 'both.pt');
  await writeTensor(t, {
    x: { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    y: { dtype: 'int64', shape: [2], data: new BigInt64Array([4n, 6n]) },
  });
  const warnings: string[] = [];
  const options = {
    repoRoot: REPO_ROOT,
    plugins: ['corrupt-mnist/dataver-plugin'],
    onWarning: (m: string) => warnings.push(m),
  };
  expect(await readTensorMeta(f, options)).toEqual({
    format: 'pt',
    tensors: [{ dtype: 'float32', shape: [2, 1, 2, 2], mean: 3.5, std: 2.29129, min: 0, max: 7 }],
  });
  expect(await readTensorMeta(t, options)).toEqual({
    format: 'pt',
    tensors: [
      { name: 'x', dtype: 'uint8', shape: [3], mean: 2, std: 0.816497, min: 1, max: 3 },
      { name: 'y', dtype: 'int64', shape: [2], mean: 5, std: 1, min: 4, max: 6 },
    ],
  });
  expect(warnings).toEqual([]);
});

test('a corrupt or malicious .pt gives undefined and a warning, never a crash', async () => {
  const f = path.join(dir, 'cut.pt');
  const bytes = serializePt({ dtype: 'uint8', shape: [100], data: new Uint8Array(100) });
  fs.writeFileSync(f, bytes.subarray(0, bytes.length - 30));
  const warnings: string[] = [];
  const options = {
    repoRoot: REPO_ROOT,
    plugins: ['corrupt-mnist/dataver-plugin'],
    onWarning: (m: string) => warnings.push(m),
  };
  expect(await readTensorMeta(f, options)).toBeUndefined();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain('cut.pt');
});
