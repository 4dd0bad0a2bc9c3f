// PyTorch `.pt` files: the zip archive torch.save writes since 1.6 (data.pkl + data/<key>),
// and the older "legacy" stream of pickles followed by raw storages. Read and write.
import { DataverError } from '@dataver/foundation';
import { type GlobalHandler, isPyGlobal, PickleWriter, unpickleFrom } from '../container/pickle.js';
import {
  looksLikeZip,
  readZipEntries,
  readZipEntry,
  writeZipChunks,
  type ZipEntry,
  type ZipInput,
} from '../container/zip.js';
import {
  DEFAULT_MAX_BYTES,
  DTYPES,
  decodeElements,
  dtypeFromTorchStorage,
  encodeElements,
  numelOf,
  validateTensor,
} from '../dtype/dtype.js';
import { gatherBytes } from '../dtype/strided.js';
import type { DType, NamedTensor, ParseOptions, Tensor } from '../dtype/types.js';

/** A `.pt` object tree whose leaves are `T`: dicts, lists and tuples of them, and plain scalars. */
export type PtTree<T> =
  | T
  | PtTree<T>[]
  | Map<string | number, PtTree<T>>
  | string
  | number
  | boolean
  | bigint
  | null;

/** What a `.pt` file can hold: a tensor, or dicts/lists/tuples of them (and plain scalars). */
export type PtValue = PtTree<Tensor>;

/** A storage a tensor views (a record `data/<key>` of the archive). */
export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: DType;
  numel: number;
  /** Legacy view of another storage: (root key, element offset). */
  viewOf?: { key: string; offset: number };
}

/** A tensor as data.pkl describes it: a view (offset, size, stride in elements) of a storage. */
export interface PtTensorRef {
  kind: 'pending';
  storage: StorageRef;
  offset: number;
  size: number[];
  stride: number[];
}

// Storage classes torch may name; those without a dtype of ours are reported as unsupported.
const STORAGE_NAMES = [
  ...Object.values(DTYPES).flatMap((d) => d.torchStorage ?? []),
  'BFloat16Storage',
  'ComplexFloatStorage',
  'ComplexDoubleStorage',
  'QInt8Storage',
  'QUInt8Storage',
  'QInt32Storage',
  'UntypedStorage',
];
const STORAGE_GLOBALS = new Set(STORAGE_NAMES.map((n) => `torch.${n}`));

function intList(value: unknown, what: string): number[] {
  if (
    !Array.isArray(value) ||
    !value.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  ) {
    throw new DataverError('CORRUPT', `tensor ${what} is not a tuple of non-negative integers`);
  }
  return value as number[];
}

function rebuildTensor(args: unknown[]): PtTensorRef {
  const [storage, offset, size, stride] = args;
  if (typeof storage !== 'object' || storage === null || (storage as StorageRef).kind !== 'storage') {
    throw new DataverError('CORRUPT', 'tensor rebuild without a storage');
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new DataverError('CORRUPT', 'tensor storage offset is invalid');
  }
  const sizes = intList(size, 'size');
  const strides = intList(stride, 'stride');
  if (sizes.length !== strides.length)
    throw new DataverError('CORRUPT', 'tensor size and stride differ in length');
  return { kind: 'pending', storage: storage as StorageRef, offset, size: sizes, stride: strides };
}

const CALLABLES = new Map<string, GlobalHandler>([
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_tensor', rebuildTensor],
  // nn.Parameter(data, requires_grad, hooks): keep the data
  ['torch._utils._rebuild_parameter', (args) => args[0]],
  ['collections.OrderedDict', () => new Map()],
]);

function storageFromPid(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
    throw new DataverError(
      'PICKLE_FORBIDDEN',
      'pickle loads a persistent object that is not a storage; refused',
    );
  }
  const [, type, key, , numel, view] = pid;
  if (!isPyGlobal(type)) throw new DataverError('CORRUPT', 'storage type is not a torch storage class');
  if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
    throw new DataverError('CORRUPT', 'storage id is malformed');
  }
  const dtype = dtypeFromTorchStorage(type.name);
  if (!dtype) {
    throw new DataverError('UNSUPPORTED_DTYPE', `storage type torch.${type.name} is not supported`, {
      hint: `supported dtypes: ${Object.keys(DTYPES).join(', ')}; convert the tensor first (e.g. .float())`,
    });
  }
  const ref: StorageRef = { kind: 'storage', key, dtype, numel };
  if (Array.isArray(view) && view.length === 3) {
    const [rootKey, offset] = view;
    if (
      typeof rootKey !== 'string' ||
      typeof offset !== 'number' ||
      !Number.isSafeInteger(offset) ||
      offset < 0
    ) {
      throw new DataverError('CORRUPT', 'storage view metadata is malformed');
    }
    ref.viewOf = { key: rootKey, offset };
  }
  return ref;
}

/**
 * Checks that a tensor's view stays inside its storage (`storageBytes` long) and says whether
 * its elements lie in C order one after another (then they can be read as one range).
 *
 * @example
 * const { numel, contiguous } = checkTensorView(ref, data.length);
 */
export function checkTensorView(
  p: PtTensorRef,
  storageBytes: number,
): { numel: number; contiguous: boolean } {
  const es = DTYPES[p.storage.dtype].size;
  const numel = numelOf(p.size);
  if (numel === 0) return { numel, contiguous: true };
  let last = p.offset;
  for (const [i, d] of p.size.entries()) last += (d - 1) * (p.stride[i] ?? 0);
  const storageNumel = Math.floor(storageBytes / es);
  if (last >= storageNumel || last >= p.storage.numel) {
    throw new DataverError(
      'CORRUPT',
      `tensor view reaches element ${last} of a storage of ${Math.min(storageNumel, p.storage.numel)}`,
    );
  }
  let contiguous = true;
  for (let i = p.size.length - 1, expect = 1; i >= 0; i--) {
    const d = p.size[i] ?? 1;
    if (d !== 1 && p.stride[i] !== expect) contiguous = false;
    expect *= d;
  }
  return { numel, contiguous };
}

/**
 * Copies a tensor's view out of its storage bytes into a dense C-order tensor.
 *
 * @example
 * const tensor = materializeTensor(ref, storageBytes, false, DEFAULT_MAX_BYTES);
 */
export function materializeTensor(
  p: PtTensorRef,
  bytes: Uint8Array,
  bigEndian: boolean,
  maxBytes: number,
): Tensor {
  const { dtype } = p.storage;
  const es = DTYPES[dtype].size;
  const shape = p.size.slice();
  const numel = numelOf(shape);
  if (numel * es > maxBytes)
    throw new DataverError('TOO_LARGE', `tensor of ${numel * es} bytes exceeds the ${maxBytes}-byte limit`);
  const { contiguous } = checkTensorView(p, bytes.length);
  const dense = contiguous
    ? bytes.subarray(p.offset * es, (p.offset + numel) * es)
    : gatherBytes(bytes, es, p.offset, shape, p.stride);
  return { dtype, shape, data: decodeElements(dense, dtype, numel, bigEndian) };
}

/** Containers nested deeper than this are refused (also stops self-referencing lists). */
const MAX_DEPTH = 64;

function resolveTree<T>(value: unknown, load: (p: PtTensorRef) => T, depth = 0): PtTree<T> {
  if (depth > MAX_DEPTH)
    throw new DataverError(
      'UNSUPPORTED_CONTENT',
      `containers nested deeper than ${MAX_DEPTH} levels (or a self-reference)`,
    );
  if (typeof value === 'object' && value !== null) {
    if (isTensorRef(value)) return load(value);
    if ((value as StorageRef).kind === 'storage')
      throw new DataverError('UNSUPPORTED_CONTENT', 'file holds a bare storage, not a tensor');
    if (isPyGlobal(value))
      throw new DataverError(
        'UNSUPPORTED_CONTENT',
        `file holds the class ${value.module}.${value.name}, not a tensor`,
      );
    if (Array.isArray(value)) return value.map((v) => resolveTree(v, load, depth + 1));
    if (value instanceof Map) {
      const out = new Map<string | number, PtTree<T>>();
      for (const [k, v] of value) {
        if (typeof k !== 'string' && typeof k !== 'number')
          throw new DataverError('UNSUPPORTED_CONTENT', 'dict key is not a string or integer');
        out.set(k, resolveTree(v, load, depth + 1));
      }
      return out;
    }
    if (value instanceof Uint8Array)
      throw new DataverError('UNSUPPORTED_CONTENT', 'file holds raw bytes, not a tensor');
  }
  if (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'bigint'
  )
    return value;
  throw new DataverError('UNSUPPORTED_CONTENT', `file holds an unexpected ${typeof value}`);
}

function isTensorRef(value: unknown): value is PtTensorRef {
  return typeof value === 'object' && value !== null && (value as PtTensorRef).kind === 'pending';
}

/** True when the bytes look like a legacy (pre-zip) torch.save stream. */
function looksLikeLegacy(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x80 && (bytes[1] ?? 0xff) <= 5;
}

/**
 * Parses a `.pt` file (zip or legacy torch.save format) into its object tree with dense tensors.
 * Only tensor rebuild functions, storage classes and OrderedDict are allowed in its pickle.
 *
 * @example
 * const value = parsePt(await fs.readFile('train_images_0.pt'));
 */
export function parsePt(bytes: Uint8Array, options: ParseOptions = {}): PtValue {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (looksLikeZip(bytes)) return parseZipPt(bytes, maxBytes, options.verifyChecksums ?? true);
  if (looksLikeLegacy(bytes)) return parseLegacyPt(bytes, maxBytes);
  throw new DataverError('CORRUPT', 'not a PyTorch file (neither a zip archive nor a legacy pickle stream)');
}

/** The records of a torch zip archive that readers need, by role. */
export interface PtArchive {
  pkl: ZipEntry;
  byteorder?: ZipEntry;
  /** The record `data/<key>` of a storage key. */
  storage(key: string): ZipEntry | undefined;
}

/**
 * Finds data.pkl, byteorder and the storage records among a torch zip archive's entries.
 *
 * @example
 * const archive = ptArchive(readZipEntries(bytes));
 */
export function ptArchive(entries: ZipEntry[]): PtArchive {
  const pkl = entries.find((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  if (!pkl) {
    throw new DataverError(
      'UNSUPPORTED_CONTENT',
      'zip archive has no data.pkl (not a torch.save file; TorchScript archives are not supported)',
    );
  }
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  return {
    pkl,
    byteorder: byName.get(`${prefix}byteorder`),
    storage: (key) => byName.get(`${prefix}data/${key}`),
  };
}

/**
 * True when a byteorder record's bytes say `big` (absent means little-endian).
 *
 * @example
 * isBigEndianRecord(Buffer.from('little')); // false
 */
export function isBigEndianRecord(bytes: Uint8Array | undefined): boolean {
  return bytes !== undefined && Buffer.from(bytes).toString('latin1').trim() === 'big';
}

/**
 * Runs data.pkl through the restricted unpickler and returns its tensors as named views of
 * storages (dotted names as `flattenTensors` gives them), without reading any storage.
 *
 * @example
 * for (const { name, ref } of ptTensorRefs(pkl)) console.log(name, ref.size);
 */
export function ptTensorRefs(pkl: Uint8Array): { name: string; ref: PtTensorRef }[] {
  const root = resolveTree(unpicklePtArchive(pkl), (p) => p);
  return flattenTree(root, isTensorRef).map(({ name, leaf }) => ({ name, ref: leaf }));
}

function unpicklePtArchive(pkl: Uint8Array): unknown {
  return unpickleFrom(pkl, 0, {
    callables: CALLABLES,
    values: STORAGE_GLOBALS,
    persistentLoad: storageFromPid,
  }).value;
}

/**
 * Checks that a storage record holds at least the bytes its storage id declares.
 *
 * @example
 * checkStorageSize(ref.storage, entry.size);
 */
export function checkStorageSize(storage: StorageRef, bytes: number): void {
  const needs = storage.numel * DTYPES[storage.dtype].size;
  if (bytes < needs)
    throw new DataverError('TRUNCATED', `storage data/${storage.key} holds ${bytes} bytes, needs ${needs}`);
}

/**
 * The record of a storage, refused before reading when it is missing or too large.
 *
 * @example
 * const entry = storageEntry(archive, ref.storage, maxBytes);
 */
export function storageEntry(archive: PtArchive, storage: StorageRef, maxBytes: number): ZipEntry {
  const entry = archive.storage(storage.key);
  if (!entry) throw new DataverError('CORRUPT', `archive lacks the storage record data/${storage.key}`);
  if (entry.size > maxBytes)
    throw new DataverError('TOO_LARGE', `storage data/${storage.key} exceeds the ${maxBytes}-byte limit`);
  checkStorageSize(storage, entry.size);
  return entry;
}

function parseZipPt(bytes: Uint8Array, maxBytes: number, verify: boolean): PtValue {
  const archive = ptArchive(readZipEntries(bytes));
  const bigEndian = isBigEndianRecord(
    archive.byteorder && readZipEntry(bytes, archive.byteorder, verify, 64),
  );
  const root = unpicklePtArchive(readZipEntry(bytes, archive.pkl, verify, maxBytes));
  const storages = new Map<string, Uint8Array>();
  return resolveTree(root, (p) => {
    let data = storages.get(p.storage.key);
    if (!data) {
      data = readZipEntry(bytes, storageEntry(archive, p.storage, maxBytes), verify, maxBytes);
      checkStorageSize(p.storage, data.length);
      storages.set(p.storage.key, data);
    }
    return materializeTensor(p, data, bigEndian, maxBytes);
  });
}

function parseLegacyPt(bytes: Uint8Array, maxBytes: number): PtValue {
  const plain = {
    callables: new Map<string, GlobalHandler>(),
    values: new Set<string>(),
    persistentLoad: () => {
      throw new DataverError('CORRUPT', 'legacy header loads a persistent object');
    },
  };
  let r = unpickleFrom(bytes, 0, plain);
  if (r.value !== 0x1950a86a20f9469cfc6cn)
    throw new DataverError('CORRUPT', 'legacy torch file has a wrong magic number');
  r = unpickleFrom(bytes, r.end, plain);
  if (r.value !== 1001)
    throw new DataverError(
      'UNSUPPORTED_CONTENT',
      `legacy torch protocol ${String(r.value)} is not supported`,
    );
  r = unpickleFrom(bytes, r.end, plain);
  const sysInfo = r.value instanceof Map ? r.value : new Map();
  const bigEndian = sysInfo.get('little_endian') === false;
  const refs = new Map<string, StorageRef>();
  r = unpickleFrom(bytes, r.end, {
    callables: CALLABLES,
    values: STORAGE_GLOBALS,
    persistentLoad: (pid) => {
      const ref = storageFromPid(pid);
      refs.set(ref.key, ref);
      return ref;
    },
  });
  const root = r.value;
  r = unpickleFrom(bytes, r.end, plain);
  const keys = r.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new DataverError('CORRUPT', 'legacy storage key list is malformed');
  const storages = new Map<string, Uint8Array>();
  let pos = r.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    if (pos + 8 > bytes.length) throw new DataverError('TRUNCATED', `legacy storage ${key} is missing`);
    const numel = Number(view.getBigUint64(pos, !bigEndian));
    pos += 8;
    const ref = refs.get(key);
    if (!ref) throw new DataverError('CORRUPT', `legacy storage ${key} is not referenced`);
    const nbytes = numel * DTYPES[ref.dtype].size;
    if (!Number.isSafeInteger(nbytes) || nbytes > maxBytes)
      throw new DataverError('TOO_LARGE', `legacy storage ${key} is too large`);
    if (pos + nbytes > bytes.length)
      throw new DataverError('TRUNCATED', `legacy storage ${key} runs past the end of the file`);
    storages.set(key, bytes.subarray(pos, pos + nbytes));
    pos += nbytes;
  }
  return resolveTree(root, (p) => {
    const own = p.storage.viewOf;
    const es = DTYPES[p.storage.dtype].size;
    let data = storages.get(own ? own.key : p.storage.key);
    if (!data) throw new DataverError('CORRUPT', `legacy storage ${p.storage.key} has no data`);
    if (own) data = data.subarray(own.offset * es, (own.offset + p.storage.numel) * es);
    return materializeTensor(p, data, bigEndian, maxBytes);
  });
}

/**
 * Flattens a parsed container into named tensors (dict keys and list indices joined by '.').
 *
 * @example
 * flattenTensors(parsePt(bytes)); // [{ name: 'state.weight', tensor }, …]
 */
export function flattenTensors(value: PtValue, prefix = ''): NamedTensor[] {
  return flattenTree(value, isTensor, prefix).map(({ name, leaf }) => ({ name, tensor: leaf }));
}

function flattenTree<T>(
  value: PtTree<T>,
  isLeaf: (v: unknown) => v is T,
  prefix = '',
): { name: string; leaf: T }[] {
  if (isLeaf(value)) return [{ name: prefix, leaf: value }];
  const out: { name: string; leaf: T }[] = [];
  const join = (k: string | number): string => (prefix ? `${prefix}.${k}` : String(k));
  if (Array.isArray(value))
    for (const [i, v] of value.entries()) out.push(...flattenTree(v, isLeaf, join(i)));
  else if (value instanceof Map) for (const [k, v] of value) out.push(...flattenTree(v, isLeaf, join(k)));
  return out;
}

/**
 * True for an object shaped like a Tensor.
 *
 * @example
 * if (isTensor(value)) console.log(value.shape);
 */
export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Map) &&
    typeof (value as Tensor).dtype === 'string' &&
    Array.isArray((value as Tensor).shape) &&
    ArrayBuffer.isView((value as Tensor).data)
  );
}

/** What `serializePt` accepts: one tensor, a list of tensors, or a string-keyed dict of tensors. */
export type PtInput = Tensor | Tensor[] | Record<string, Tensor>;

/**
 * Serializes tensors as a torch zip archive that `torch.load(path, weights_only=True)` accepts;
 * returns the pieces in file order (see `serializePt` for one buffer).
 *
 * @example
 * await writeFileAtomic('x.pt', serializePtChunks({ images, targets }));
 */
export function serializePtChunks(value: PtInput, archiveName = 'archive'): Uint8Array[] {
  const storages: Uint8Array[] = [];
  const pickle = ptPickle(value, (t, what) => {
    validateTensor(t, what);
    storages.push(encodeElements(t));
  });
  return writeZipChunks(ptEntries(archiveName, pickle, storages));
}

/**
 * The records of a torch archive in the order torch writes them.
 *
 * @example
 * writeZipChunks(ptEntries('archive', pickle, [storageBytes]));
 */
export function ptEntries(archiveName: string, pickle: Uint8Array, storages: Uint8Array[]): ZipInput[] {
  return [
    { name: `${archiveName}/data.pkl`, data: pickle },
    { name: `${archiveName}/byteorder`, data: Buffer.from('little', 'latin1') },
    ...storages.map((data, i) => ({ name: `${archiveName}/data/${i}`, data })),
    { name: `${archiveName}/version`, data: Buffer.from('3\n', 'latin1') },
  ];
}

/** Metadata of a tensor to pickle: its data need not exist yet (streaming writes). */
export type TensorSpec = Pick<Tensor, 'dtype' | 'shape'>;

/**
 * The data.pkl program for tensors (storage keys 0, 1, … in visiting order); `visit` sees each tensor.
 *
 * @example
 * const pkl = ptPickle({ dtype: 'uint8', shape: [2] }, () => {});
 */
export function ptPickle<T extends TensorSpec>(
  value: T | T[] | Record<string, T>,
  visit: (t: T, what: string) => void,
): Uint8Array {
  const w = new PickleWriter();
  let count = 0;
  const isSpec = (v: unknown): v is T =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as T).dtype === 'string' &&
    Array.isArray((v as T).shape);
  const writeTensor = (t: T, what: string): void => {
    visit(t, what);
    const storage = DTYPES[t.dtype].torchStorage;
    if (!storage)
      throw new DataverError(
        'UNSUPPORTED_DTYPE',
        `torch has no storage class for ${t.dtype}: .pt cannot hold ${what}`,
        {
          hint: 'use .safetensors, or convert the tensor first',
        },
      );
    const key = String(count++);
    const numel = numelOf(t.shape, what);
    const stride: number[] = [];
    let step = 1;
    for (const d of [...t.shape].reverse()) {
      stride.unshift(step);
      step *= d;
    }
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', storage).str(key).str('cpu').int(numel).tuple().persid();
    w.int(0);
    w.mark();
    for (const d of t.shape) w.int(d);
    w.tuple().mark();
    for (const s of stride) w.int(s);
    w.tuple().bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
  };
  if (isSpec(value)) writeTensor(value, 'tensor');
  else if (Array.isArray(value)) {
    w.emptyList().mark();
    for (const [i, t] of value.entries()) writeTensor(t, `tensor ${i}`);
    w.appends();
  } else {
    w.emptyDict().mark();
    for (const [k, t] of Object.entries(value)) {
      w.str(k);
      writeTensor(t, `tensor ${k}`);
    }
    w.setItems();
  }
  return w.finish();
}

/**
 * Serializes tensors as a `.pt` file that `torch.load(path, weights_only=True)` accepts.
 *
 * @example
 * const bytes = serializePt({ dtype: 'uint8', shape: [2], data: new Uint8Array([1, 2]) });
 */
export function serializePt(value: PtInput): Uint8Array {
  return Buffer.concat(serializePtChunks(value));
}
