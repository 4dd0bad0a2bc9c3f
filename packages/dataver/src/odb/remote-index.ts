// The remote index: which objects a remote holds and where (loose or inside a
// pack), so push, fetch and status need no LIST of the object keys. It is made
// of immutable segments named by the sha256 of their bytes, written only after
// the data they describe, and read as a union: concurrent writers never
// overwrite each other (no preconditions needed), a damaged segment is
// recognised by its name, and a stale index is rebuilt from a listing.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isDataverError, isTempName, tmpNameFor } from '@dataver/foundation';
import type { Storage } from '../storage/types.js';
import { LocationTable, type ObjectLocation } from './location-table.js';
import { type PackIndexFile, parsePack, parsePackIndexFile } from './pack.js';

export type { ObjectLocation } from './location-table.js';

export const INDEX_PREFIX = 'index/';
export const OBJECTS_PREFIX = 'objects/sha256/';
export const PACKS_PREFIX = 'packs/';
/**
 * Segments are compacted by size tier: a segment's tier is log base COMPACT_FANOUT of its entry
 * count, and when COMPACT_FANOUT segments share a tier they are merged into one (of the next tier).
 * A push therefore rewrites only segments about as small as its own, never the big ones, so the
 * cost of a compaction follows what changed, not the size of the index; each entry is rewritten
 * about once per tier (7 times for a million entries), and at most COMPACT_FANOUT - 1 segments
 * stay in each tier.
 */
export const COMPACT_FANOUT = 8;

const HASH_RE = /^[0-9a-f]{64}$/;
const SEGMENT_RE = /^index\/seg-([0-9a-f]{64})\.json$/;
const PACK_RE = /^packs\/pack-([0-9a-f]{64})\.tar$/;

/**
 * Where a loose object lives: `objects/sha256/ab/cdef…`.
 *
 * @example
 * await storage.put(looseKey(hash), { filePath });
 */
export function looseKey(hash: string): string {
  return `${OBJECTS_PREFIX}${hash.slice(0, 2)}/${hash.slice(2)}`;
}

/**
 * Where a pack lives: `packs/pack-<sha256>.tar`.
 *
 * @example
 * await storage.get(packKey(pack), { start: offset, end: offset + size - 1 });
 */
export function packKey(pack: string): string {
  return `${PACKS_PREFIX}pack-${pack}.tar`;
}

/**
 * Where a pack's index file lives: `packs/pack-<sha256>.idx`.
 *
 * @example
 * const idx = JSON.parse((await storage.getBuffer(packIndexKey(pack))).toString());
 */
export function packIndexKey(pack: string): string {
  return `${PACKS_PREFIX}pack-${pack}.idx`;
}

/**
 * Where an index segment lives: `index/seg-<sha256 of its bytes>.json`.
 *
 * @example
 * segmentKey(createHash('sha256').update(bytes).digest('hex'));
 */
export function segmentKey(hash: string): string {
  return `${INDEX_PREFIX}seg-${hash}.json`;
}

export interface SegmentPack {
  pack: string;
  size: number;
  objects: [string, number, number][];
}

/** One index segment, as stored (JSON, arrays sorted so equal content gives equal names). */
export interface IndexSegment {
  version: 1;
  loose: [string, number][];
  packs: SegmentPack[];
  /**
   * `[pack, hash]` entries found corrupt: packs are immutable, so such an entry
   * stays bad and must never be chosen again, even after a rebuild from a listing.
   */
  bad?: [string, string][];
}

/** Locations known to be bad (from verify or fetch), left out when the index is rebuilt. */
export interface IndexExclusions {
  loose?: Set<string>;
  /** `${pack}:${hash}` */
  packed?: Set<string>;
}

/** Shared by several `mapLimit` calls so that a failure in one stops the others from starting new work. */
export interface StopFlag {
  stopped: boolean;
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep
 * their order. After a failure no new call starts, and the promise settles
 * only when the calls in flight have finished (nothing keeps writing after
 * the caller has seen the error), then rejects with the first error.
 *
 * @example
 * const sizes = await mapLimit(keys, 16, (k) => storage.stat(k));
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
  stop: StopFlag = { stopped: false },
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const queue = items.entries(); // shared by the workers: each takes the next item
  let started = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async () => {
    while (!stop.stopped) {
      const step = queue.next();
      if (step.done) return;
      started++;
      const [i, item] = step.value;
      try {
        results[i] = await fn(item, i);
      } catch (error) {
        stop.stopped = true;
        firstError ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (firstError) throw firstError.error;
  if (stop.stopped && started < items.length) throw new Error('stopped: another transfer failed');
  return results;
}

/**
 * Serializes a segment deterministically and names it by its hash.
 *
 * @example
 * const { key, bytes } = encodeSegment({ version: 1, loose: [[hash, 12]], packs: [] });
 */
export function encodeSegment(segment: IndexSegment): { key: string; bytes: Buffer; hash: string } {
  const normalized: IndexSegment = {
    version: 1,
    loose: [...segment.loose].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    packs: [...segment.packs]
      .sort((a, b) => (a.pack < b.pack ? -1 : a.pack > b.pack ? 1 : 0))
      .map((p) => ({ pack: p.pack, size: p.size, objects: [...p.objects].sort((a, b) => a[1] - b[1]) })),
  };
  if (segment.bad && segment.bad.length > 0) {
    const unique = [...new Set(segment.bad.map(([p, h]) => `${p}:${h}`))].sort();
    normalized.bad = unique.map((k) => k.split(':') as [string, string]);
  }
  const bytes = Buffer.from(`${JSON.stringify(normalized)}\n`);
  const hash = createHash('sha256').update(bytes).digest('hex');
  return { key: segmentKey(hash), bytes, hash };
}

/**
 * Parses and checks a stored segment; undefined when it is damaged (its bytes
 * do not hash to its name, or the content is not a valid segment).
 *
 * @example
 * const segment = decodeSegment(bytes, nameHash);
 */
export function decodeSegment(bytes: Buffer, nameHash: string): IndexSegment | undefined {
  if (createHash('sha256').update(bytes).digest('hex') !== nameHash) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const v = value as Partial<IndexSegment>;
  if (
    typeof v !== 'object' ||
    v === null ||
    v.version !== 1 ||
    !Array.isArray(v.loose) ||
    !Array.isArray(v.packs)
  ) {
    return undefined;
  }
  for (const l of v.loose) {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || !HASH_RE.test(l[0]) || !Number.isSafeInteger(l[1])) {
      return undefined;
    }
  }
  if (v.bad !== undefined) {
    if (!Array.isArray(v.bad)) return undefined;
    for (const b of v.bad) {
      if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'string' && HASH_RE.test(x))) {
        return undefined;
      }
    }
  }
  for (const p of v.packs) {
    if (typeof p !== 'object' || p === null || typeof p.pack !== 'string' || !HASH_RE.test(p.pack))
      return undefined;
    if (
      parsePackIndexFile({ version: 1, pack: p.pack, size: p.size, objects: p.objects }, p.pack) === undefined
    ) {
      return undefined;
    }
  }
  return v as IndexSegment;
}

/** A segment's size tier: log base `fanout` of its entry count (bad marks count as entries). */
function segmentTier(segment: HeldSegment, fanout: number): number {
  return Math.floor(Math.log(Math.max(1, segment.entries)) / Math.log(fanout));
}

/**
 * A segment as it is kept in memory: its hashes as bytes and its numbers in typed arrays (about
 * 50 B an entry; parsed JSON arrays with their hash strings cost about 150 B). Expanded back into
 * an IndexSegment only by the rare work that needs one (a compaction, a verify).
 */
interface HeldSegment {
  /** Entries, bad marks included (its size tier). */
  entries: number;
  loose: { hashes: Buffer; sizes: Float64Array };
  packs: Array<{ pack: string; size: number; hashes: Buffer; offsets: Float64Array; sizes: Float64Array }>;
  bad: [string, string][];
}

const HASH_BYTES = 32;

function hashBytes(hashes: readonly string[]): Buffer {
  const out = Buffer.alloc(hashes.length * HASH_BYTES);
  for (let i = 0; i < hashes.length; i++) out.write(hashes[i] as string, i * HASH_BYTES, HASH_BYTES, 'hex');
  return out;
}

function hashAt(hashes: Buffer, i: number): string {
  return hashes.toString('hex', i * HASH_BYTES, (i + 1) * HASH_BYTES);
}

function holdSegment(segment: IndexSegment): HeldSegment {
  let entries = segment.loose.length + (segment.bad?.length ?? 0);
  const packs = segment.packs.map((p) => {
    entries += p.objects.length;
    return {
      pack: p.pack,
      size: p.size,
      hashes: hashBytes(p.objects.map((o) => o[0])),
      offsets: Float64Array.from(p.objects, (o) => o[1]),
      sizes: Float64Array.from(p.objects, (o) => o[2]),
    };
  });
  return {
    entries,
    loose: {
      hashes: hashBytes(segment.loose.map((l) => l[0])),
      sizes: Float64Array.from(segment.loose, (l) => l[1]),
    },
    packs,
    bad: segment.bad ?? [],
  };
}

/** A pack of a held segment as an IndexSegment's pack (hash strings made now). */
function expandPack(p: HeldSegment['packs'][number]): SegmentPack {
  const objects: [string, number, number][] = [];
  for (let i = 0; i < p.sizes.length; i++)
    objects.push([hashAt(p.hashes, i), p.offsets[i] as number, p.sizes[i] as number]);
  return { pack: p.pack, size: p.size, objects };
}

function expandSegment(held: HeldSegment): IndexSegment {
  const loose: [string, number][] = [];
  for (let i = 0; i < held.loose.sizes.length; i++)
    loose.push([hashAt(held.loose.hashes, i), held.loose.sizes[i] as number]);
  return {
    version: 1,
    loose,
    packs: held.packs.map(expandPack),
    ...(held.bad.length ? { bad: held.bad } : {}),
  };
}

/** What one `load` found, for logs and tests. */
export interface IndexLoadReport {
  segments: number;
  damaged: string[];
}

/**
 * The in-memory union of a remote's index segments.
 *
 * @example
 * const index = new RemoteIndex(storage);
 * await index.load();
 * index.lookup(hash); // { kind: 'pack', pack, offset, size } | { kind: 'loose', size } | undefined
 */
export class RemoteIndex {
  /** Segments by key, held compactly; segments are immutable, so each is read once per process. */
  private readonly segments = new Map<string, HeldSegment>();
  private objects = new LocationTable();
  /** `${pack}:${hash}` entries marked bad by any segment. */
  private badPacked = new Set<string>();
  private packSizes = new Map<string, number>();
  /** Keys of segments whose bytes do not match their name. */
  damaged: string[] = [];
  loaded = false;

  constructor(
    private readonly storage: Storage,
    private readonly jobs = 8,
    /**
     * Optional local folder that keeps copies of segments already read:
     * segments never change, so a copy whose bytes still hash to its name is as
     * good as a download (saves fetching megabytes of index on every command).
     */
    private readonly cacheDir?: string,
  ) {}

  /** A cached copy of a segment, if present and intact. */
  private async readCached(key: string, nameHash: string): Promise<IndexSegment | undefined> {
    if (!this.cacheDir) return undefined;
    try {
      return decodeSegment(await fs.readFile(path.join(this.cacheDir, path.basename(key))), nameHash);
    } catch {
      return undefined;
    }
  }

  /** Keeps a copy of a segment (best effort: the cache is only an optimisation). */
  private async writeCached(key: string, bytes: Buffer): Promise<void> {
    if (!this.cacheDir) return;
    try {
      await fs.mkdir(this.cacheDir, { recursive: true });
      const tmp = tmpNameFor(path.join(this.cacheDir, path.basename(key)));
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, path.join(this.cacheDir, path.basename(key)));
    } catch {
      // A read-only or missing state folder only costs a download next time.
    }
  }

  /** Drops cached copies of segments the remote no longer lists (compacted or rebuilt away). */
  private async pruneCached(listed: Set<string>): Promise<void> {
    if (!this.cacheDir) return;
    try {
      const names = new Set([...listed].map((k) => path.basename(k)));
      for (const name of await fs.readdir(this.cacheDir)) {
        // Temporary files are the crash clean-up's (by pid), not this prune's.
        if (!names.has(name) && !isTempName(name))
          await fs.rm(path.join(this.cacheDir, name), { force: true });
      }
    } catch {
      // Nothing cached yet.
    }
  }

  /** Number of objects the index knows. */
  get size(): number {
    return this.objects.size;
  }

  /** Number of segments in the last listing. */
  get segmentCount(): number {
    return this.segments.size;
  }

  lookup(hash: string): ObjectLocation | undefined {
    return this.objects.get(hash);
  }

  /** Every (hash, location) the index knows (fresh objects each). */
  entries(): IterableIterator<[string, ObjectLocation]> {
    return this.objects.entries();
  }

  /** Packs the index knows, with their sizes. */
  packs(): ReadonlyMap<string, number> {
    return this.packSizes;
  }

  /** Every pack the segments list, with all of its entries (verify checks each copy). */
  packEntries(): Map<string, [string, number, number][]> {
    const out = new Map<string, [string, number, number][]>();
    for (const segment of this.segments.values()) {
      for (const p of segment.packs.map(expandPack)) {
        const seen = out.get(p.pack) ?? [];
        const known = new Set(seen.map((e) => e[0]));
        for (const e of p.objects) {
          if (!known.has(e[0]) && !this.badPacked.has(`${p.pack}:${e[0]}`)) seen.push(e);
        }
        out.set(p.pack, seen);
      }
    }
    return out;
  }

  /** Lists the index prefix and reads the segments not read before; the union replaces the view. */
  async load(): Promise<IndexLoadReport> {
    for (let attempt = 0; ; attempt++) {
      /** Segment key → the hash its name claims for its bytes. */
      const named = new Map<string, string>();
      for await (const entry of this.storage.list(INDEX_PREFIX)) {
        const nameHash = SEGMENT_RE.exec(entry.key)?.[1];
        if (nameHash !== undefined) named.set(entry.key, nameHash);
      }
      const keys = [...named.keys()];
      const fresh = [...named].filter(([k]) => !this.segments.has(k) && !this.damaged.includes(k));
      let vanished = false;
      const damaged: string[] = [];
      await mapLimit(fresh, this.jobs, async ([key, nameHash]) => {
        const cached = await this.readCached(key, nameHash);
        if (cached) {
          this.segments.set(key, holdSegment(cached));
          return;
        }
        let bytes: Buffer;
        try {
          bytes = await this.storage.getBuffer(key);
        } catch (error) {
          // Compacted away by another writer between our LIST and GET: list again.
          if (isDataverError(error, 'NOT_FOUND')) {
            vanished = true;
            return;
          }
          throw error;
        }
        const segment = decodeSegment(bytes, nameHash);
        if (segment === undefined) damaged.push(key);
        else {
          this.segments.set(key, holdSegment(segment));
          await this.writeCached(key, bytes);
        }
      });
      if (vanished && attempt < 3) continue;
      const listed = new Set(keys);
      await this.pruneCached(listed);
      for (const key of [...this.segments.keys()]) if (!listed.has(key)) this.segments.delete(key);
      this.damaged = [...new Set([...this.damaged.filter((k) => listed.has(k)), ...damaged])];
      this.rebuildView();
      this.loaded = true;
      return { segments: this.segments.size, damaged: this.damaged };
    }
  }

  private rebuildView(): void {
    const objects = new LocationTable();
    const packs = new Map<string, number>();
    const bad = new Set<string>();
    for (const segment of this.segments.values()) {
      for (const [pack, hash] of segment.bad) bad.add(`${pack}:${hash}`);
    }
    for (const segment of this.segments.values()) {
      for (const p of segment.packs) {
        packs.set(p.pack, p.size);
        for (let i = 0; i < p.sizes.length; i++) {
          if (objects.hasBytes(p.hashes, i * HASH_BYTES)) continue;
          if (bad.size > 0 && bad.has(`${p.pack}:${hashAt(p.hashes, i)}`)) continue;
          const location: ObjectLocation = {
            kind: 'pack',
            pack: p.pack,
            offset: p.offsets[i] as number,
            size: p.sizes[i] as number,
          };
          objects.setBytes(p.hashes, i * HASH_BYTES, location);
        }
      }
    }
    this.badPacked = bad;
    // A loose copy wins over a packed one: it needs no range arithmetic.
    for (const segment of this.segments.values()) {
      const { hashes, sizes } = segment.loose;
      for (let i = 0; i < sizes.length; i++)
        objects.setBytes(hashes, i * HASH_BYTES, { kind: 'loose', size: sizes[i] as number });
    }
    this.objects = objects;
    this.packSizes = packs;
  }

  /** Stores a segment (after the data it names is uploaded) and adds it to the view. */
  async write(segment: IndexSegment): Promise<string | undefined> {
    if (segment.loose.length === 0 && segment.packs.length === 0 && !segment.bad?.length) return undefined;
    const { key, bytes } = encodeSegment(segment);
    await this.storage.put(key, bytes, { size: bytes.length });
    const known = this.segments.has(key);
    this.segments.set(key, holdSegment(segment));
    await this.writeCached(key, bytes);
    // New entries are added to the view as they are (a push's checkpoints cost what they add);
    // only bad marks, which take entries away, need the whole view rebuilt.
    if (segment.bad?.length) this.rebuildView();
    else if (!known) this.addToView(segment);
    return key;
  }

  private addToView(segment: IndexSegment): void {
    for (const p of segment.packs) {
      this.packSizes.set(p.pack, p.size);
      for (const [hash, offset, size] of p.objects) {
        if (this.objects.has(hash) || this.badPacked.has(`${p.pack}:${hash}`)) continue;
        this.objects.set(hash, { kind: 'pack', pack: p.pack, offset, size });
      }
    }
    for (const [hash, size] of segment.loose) this.objects.set(hash, { kind: 'loose', size });
  }

  /**
   * Merges the segments of each size tier that holds `fanout` of them (see COMPACT_FANOUT), the
   * smallest tier first, so a merge that fills the next tier merges on. The merged segment is
   * stored before its inputs are deleted, and only those inputs are, so entries a concurrent
   * writer adds meanwhile are never lost and a crash leaves at worst entries listed twice (the
   * view is a union). The view does not change: the merged segment holds what its inputs held.
   */
  async compact(fanout = COMPACT_FANOUT): Promise<boolean> {
    let compacted = false;
    for (;;) {
      const tiers = new Map<number, Array<[string, HeldSegment]>>();
      for (const entry of this.segments) {
        const tier = segmentTier(entry[1], fanout);
        tiers.set(tier, [...(tiers.get(tier) ?? []), entry]);
      }
      const full = [...tiers].filter(([, list]) => list.length >= fanout).sort((a, b) => a[0] - b[0]);
      const inputs = full[0]?.[1];
      if (inputs === undefined) return compacted;
      const loose = new Map<string, number>();
      const packs = new Map<string, SegmentPack>();
      const bad: [string, string][] = [];
      for (const [, held] of inputs) {
        const s = expandSegment(held);
        for (const [hash, size] of s.loose) loose.set(hash, size);
        for (const p of s.packs) packs.set(p.pack, p);
        bad.push(...(s.bad ?? []));
      }
      const merged: IndexSegment = { version: 1, loose: [...loose], packs: [...packs.values()], bad };
      const { key, bytes } = encodeSegment(merged);
      await this.storage.put(key, bytes, { size: bytes.length });
      this.segments.set(key, holdSegment(merged));
      await this.writeCached(key, bytes);
      await mapLimit(
        inputs.filter(([input]) => input !== key),
        this.jobs,
        async ([input]) => {
          await this.storage.delete(input);
          this.segments.delete(input);
        },
      );
      compacted = true;
    }
  }

  /**
   * Rebuilds the index from a listing of the objects and packs actually stored,
   * leaving out `exclude`d locations, then replaces the segments it had listed
   * before it started (segments written later by others stay). When the remote
   * is read-only the rebuilt view is still used, just not stored.
   */
  async rebuild(
    exclude: IndexExclusions = {},
  ): Promise<{ loose: number; packs: number; persisted: boolean }> {
    // Read the index FIRST: a segment seen here describes data uploaded before
    // it, which the data listing below will therefore also see. Reading it
    // (not just listing) carries its bad-entry marks into the rebuilt index.
    await this.load();
    const oldSegments = [...this.segments.keys(), ...this.damaged];
    const badPacked = new Set([...this.badPacked, ...(exclude.packed ?? [])]);
    const stored = await this.inventory();
    const loose = stored.loose.filter(([hash]) => !exclude.loose?.has(hash));
    const packs = stored.packs
      .map((p) => ({ ...p, objects: p.objects.filter(([hash]) => !badPacked.has(`${p.pack}:${hash}`)) }))
      .filter((p) => p.objects.length > 0);

    // Marks are kept only for packs that still exist (they are what could be listed again).
    const listedPacks = new Set(stored.tars);
    const bad = [...badPacked]
      .map((k) => k.split(':') as [string, string])
      .filter(([pack]) => listedPacks.has(pack));
    const segment: IndexSegment = { version: 1, loose, packs, bad };
    let persisted = true;
    try {
      const { key, bytes } = encodeSegment(segment);
      if (loose.length > 0 || packs.length > 0 || bad.length > 0) {
        await this.storage.put(key, bytes, { size: bytes.length });
      }
      await mapLimit(
        oldSegments.filter((k) => k !== key),
        this.jobs,
        (k) => this.storage.delete(k),
      );
      this.segments.clear();
      this.damaged = [];
      await this.load();
    } catch (error) {
      if (!isDataverError(error, 'REMOTE_PERMISSION') && !isDataverError(error, 'PERMISSION')) throw error;
      persisted = false;
      this.segments.clear();
      this.segments.set(encodeSegment(segment).key, holdSegment(segment));
      this.damaged = [];
      this.rebuildView();
      this.loaded = true;
    }
    return { loose: loose.length, packs: packs.length, persisted };
  }

  /**
   * What the remote really stores, from a listing (not from the index): its loose objects, and
   * every readable pack with its entries (`tars` also names the packs whose index is unreadable).
   * Entries marked bad are included; `isBad` tells them.
   *
   * @example
   * const { loose, packs } = await index.inventory();
   */
  async inventory(): Promise<{ loose: [string, number][]; packs: SegmentPack[]; tars: string[] }> {
    const loose: [string, number][] = [];
    for await (const entry of this.storage.list(OBJECTS_PREFIX)) {
      const rest = entry.key.slice(OBJECTS_PREFIX.length);
      const hash = rest.slice(0, 2) + rest.slice(3);
      if (rest[2] === '/' && HASH_RE.test(hash)) loose.push([hash, entry.size]);
    }
    const tars: { pack: string; size: number }[] = [];
    for await (const entry of this.storage.list(PACKS_PREFIX)) {
      const pack = PACK_RE.exec(entry.key)?.[1];
      if (pack !== undefined) tars.push({ pack, size: entry.size });
    }
    const packs = (
      await mapLimit(tars, this.jobs, async ({ pack, size }) => {
        const index = await this.readPackIndex(pack, size);
        return index === undefined
          ? undefined
          : ({ pack, size, objects: index.objects } satisfies SegmentPack);
      })
    ).filter((p): p is SegmentPack => p !== undefined);
    return { loose, packs, tars: tars.map((t) => t.pack) };
  }

  /** True for a pack entry that a segment marked bad (it stays in its immutable pack, never used). */
  isBad(pack: string, hash: string): boolean {
    return this.badPacked.has(`${pack}:${hash}`);
  }

  /** A pack's `.idx`, or its tar headers when the `.idx` is missing or damaged; undefined if unreadable. */
  private async readPackIndex(pack: string, size: number): Promise<PackIndexFile | undefined> {
    try {
      const parsed = parsePackIndexFile(
        JSON.parse((await this.storage.getBuffer(packIndexKey(pack))).toString('utf8')),
        pack,
      );
      if (parsed !== undefined && parsed.size === size) return parsed;
    } catch (error) {
      if (!isDataverError(error, 'NOT_FOUND') && !(error instanceof SyntaxError)) throw error;
    }
    try {
      const bytes = await this.storage.getBuffer(packKey(pack));
      if (createHash('sha256').update(bytes).digest('hex') !== pack) return undefined;
      const objects = parsePack(bytes).map((e): [string, number, number] => [e.hash, e.offset, e.size]);
      return { version: 1, pack, size: bytes.length, objects };
    } catch (error) {
      if (isDataverError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }
}
