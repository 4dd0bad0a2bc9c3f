// Malicious pickles: anything but the whitelisted tensor rebuild functions is refused before
// it could run. Both hand-made pickles and real torch.save files carrying a payload.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isDataverError } from '@dataver/foundation';
import { unpickle } from '../src/container/pickle';
import { readZipEntries, readZipEntry, writeZipChunks } from '../src/container/zip';
import { parsePt, readTensor, serializePt, summarizeFile } from '../src/index';
import { requireTorch, saveMaliciousPt } from './helpers/torch';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tensor-sec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A .pt archive whose data.pkl is the given pickle. */
function ptWithPickle(pkl: Uint8Array): Buffer {
  return Buffer.concat(
    writeZipChunks([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ]),
  );
}

const MALICIOUS: Record<string, Buffer> = {
  // protocol 0: os.system('touch …')
  'os.system (GLOBAL)': Buffer.from("cos\nsystem\n(S'touch /tmp/dataver-tensor-pwned'\ntR.", 'latin1'),
  // protocol 4: builtins.eval via STACK_GLOBAL
  'builtins.eval (STACK_GLOBAL)': Buffer.concat([
    Buffer.from([0x80, 0x04, 0x8c, 8]),
    Buffer.from('builtins'),
    Buffer.from([0x8c, 4]),
    Buffer.from('eval'),
    Buffer.from([0x93, 0x8c, 6]),
    Buffer.from('1+1==2'),
    Buffer.from([0x85, 0x52, 0x2e]),
  ]),
  'posix.system': Buffer.from("cposix\nsystem\n(S'id'\ntR.", 'latin1'),
  'subprocess.Popen': Buffer.from("csubprocess\nPopen\n((S'id'\nltR.", 'latin1'),
  // a whitelisted storage class used as a callable
  'storage class called': Buffer.from('\x80\x02ctorch\nFloatStorage\n)R.', 'latin1'),
  // INST / OBJ opcodes construct arbitrary classes
  'INST opcode': Buffer.from('(ios\nsystem\nS"id"\n.', 'latin1'),
  // persistent id that is not a storage
  'non-storage persistent id': Buffer.concat([
    Buffer.from([0x80, 0x02, 0x28, 0x58, 6, 0, 0, 0]),
    Buffer.from('module'),
    Buffer.from([0x58, 2, 0, 0, 0]),
    Buffer.from('os'),
    Buffer.from([0x74, 0x51, 0x2e]),
  ]),
};

describe.each(Object.entries(MALICIOUS))('%s', (_name, pkl) => {
  test('is refused with PICKLE_FORBIDDEN and nothing runs', () => {
    let error: unknown;
    try {
      parsePt(ptWithPickle(pkl));
    } catch (e) {
      error = e;
    }
    expect(isDataverError(error, 'PICKLE_FORBIDDEN')).toBe(true);
    expect((error as Error).message).toMatch(/refused|not allowed/);
    expect(fs.existsSync('/tmp/dataver-tensor-pwned')).toBe(false);
  });
});

test('the unpickler refuses a global before any REDUCE, even nested in a valid-looking tensor file', () => {
  const good = serializePt({ dtype: 'uint8', shape: [1], data: new Uint8Array([1]) });
  const pkl = readZipEntry(good, readZipEntries(good).find((e) => e.name.endsWith('data.pkl'))!);
  // swap the rebuild function name for os.system of the same length class of bytes
  const text = Buffer.from(pkl).toString('latin1').replace('torch._utils\n_rebuild_tensor_v2', 'os\nsystem');
  expect(() =>
    unpickle(Buffer.from(text, 'latin1'), {
      callables: new Map(),
      values: new Set(),
      persistentLoad: () => null,
    }),
  ).toThrow(/os\.system.*refused/);
});

test('a real torch.save file carrying an os.system payload is refused by readTensor and summarizeFile', async () => {
  requireTorch();
  const file = path.join(dir, 'evil.pt');
  const marker = path.join(dir, 'pwned');
  saveMaliciousPt(file, marker);
  const refusal =
    /evil\.pt: pickle refers to (posix|os)\.system, which is not on the tensor whitelist; refused/;
  await expect(readTensor(file)).rejects.toThrow(refusal);
  await expect(summarizeFile(file)).rejects.toThrow(refusal);
  await expect(summarizeFile(file)).rejects.toMatchObject({ code: 'PICKLE_FORBIDDEN', exitCode: 3 });
  expect(fs.existsSync(marker)).toBe(false);
});
