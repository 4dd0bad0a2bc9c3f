// Where a remote's objects are, for 10⁶–10⁷ of them: the remote index's in-memory view. A Map of
// hex strings to location objects cost about 250 B an object (the 64-character key, a location
// object, the map's entry); this table keeps each hash as its 32 bytes and the numbers in typed
// arrays, about 60 B an object, and makes a location object only when one is asked for.

/** Where an object lives on a remote: loose (`objects/sha256/…`) or inside a pack. */
export type ObjectLocation =
  | { kind: 'loose'; size: number }
  | { kind: 'pack'; pack: string; offset: number; size: number };

const HASH_BYTES = 32;
const LOOSE = -1;
const EMPTY = -1;

/**
 * An open-addressing hash table from SHA-256 digests to locations. The digests are uniformly
 * random, so their first four bytes are the table's hash function.
 *
 * @example
 * const table = new LocationTable();
 * table.set(hash, { kind: 'loose', size: 12 });
 * table.get(hash); // { kind: 'loose', size: 12 }
 */
export class LocationTable {
  private hashes = Buffer.alloc(0);
  /** Index into `packNames` of each entry's pack, or LOOSE. */
  private packOf = new Int32Array(0);
  private offsets = new Float64Array(0);
  private sizes = new Float64Array(0);
  /** Entry index + 1 at each slot (0: empty); the number of slots is a power of two. */
  private slots = new Int32Array(0);
  private count = 0;
  private readonly packNames: string[] = [];
  private readonly packIds = new Map<string, number>();
  private readonly key = Buffer.alloc(HASH_BYTES);

  /** Number of objects. */
  get size(): number {
    return this.count;
  }

  get(hash: string): ObjectLocation | undefined {
    const at = this.find(hash);
    return at === EMPTY ? undefined : this.locationAt(at);
  }

  has(hash: string): boolean {
    return this.find(hash) !== EMPTY;
  }

  /** `has` for a digest given as the 32 bytes at `offset` of `bytes` (no hex string made). */
  hasBytes(bytes: Buffer, offset: number): boolean {
    if (this.count === 0) return false;
    bytes.copy(this.key, 0, offset, offset + HASH_BYTES);
    return (this.slots[this.slotOf(this.key)] as number) !== 0;
  }

  /** Adds an object, or replaces where it is. */
  set(hash: string, location: ObjectLocation): void {
    if (!this.toKey(hash)) throw new TypeError(`not a sha256 hex digest: ${JSON.stringify(hash)}`);
    this.setKey(location);
  }

  /** `set` for a digest given as the 32 bytes at `offset` of `bytes` (no hex string made). */
  setBytes(bytes: Buffer, offset: number, location: ObjectLocation): void {
    bytes.copy(this.key, 0, offset, offset + HASH_BYTES);
    this.setKey(location);
  }

  /** Adds or replaces the object whose digest is in `key`. */
  private setKey(location: ObjectLocation): void {
    if (this.slots.length === 0) this.grow();
    let at = this.slotOf(this.key);
    if (this.slots[at] === 0) {
      if (this.count + 1 > this.slots.length >>> 1) {
        this.grow();
        at = this.slotOf(this.key);
      }
      const entry = this.count++;
      this.key.copy(this.hashes, entry * HASH_BYTES);
      this.slots[at] = entry + 1;
    }
    const entry = (this.slots[at] as number) - 1;
    if (location.kind === 'loose') {
      this.packOf[entry] = LOOSE;
      this.offsets[entry] = 0;
    } else {
      this.packOf[entry] = this.packId(location.pack);
      this.offsets[entry] = location.offset;
    }
    this.sizes[entry] = location.size;
  }

  /** Every object with its location (a fresh location object each). */
  *entries(): IterableIterator<[string, ObjectLocation]> {
    for (let entry = 0; entry < this.count; entry++) {
      const hash = this.hashes.toString('hex', entry * HASH_BYTES, (entry + 1) * HASH_BYTES);
      yield [hash, this.locationAt(entry)];
    }
  }

  private locationAt(entry: number): ObjectLocation {
    const pack = this.packOf[entry] as number;
    const size = this.sizes[entry] as number;
    if (pack === LOOSE) return { kind: 'loose', size };
    return {
      kind: 'pack',
      pack: this.packNames[pack] as string,
      offset: this.offsets[entry] as number,
      size,
    };
  }

  /** The entry of a hash, or EMPTY. */
  private find(hash: string): number {
    if (this.count === 0 || !this.toKey(hash)) return EMPTY;
    const entry = (this.slots[this.slotOf(this.key)] as number) - 1;
    return entry < 0 ? EMPTY : entry;
  }

  /** Puts a hex digest's bytes into `key`; false when it is not 64 hex digits. */
  private toKey(hash: string): boolean {
    return hash.length === 2 * HASH_BYTES && this.key.write(hash, 'hex') === HASH_BYTES;
  }

  /** The slot holding `key`, or the empty slot where it would go (linear probing). */
  private slotOf(key: Buffer): number {
    const mask = this.slots.length - 1;
    const head = key.readUInt32LE(0);
    const tail = key.readUInt32LE(HASH_BYTES - 4);
    for (let at = head & mask; ; at = (at + 1) & mask) {
      const entry = (this.slots[at] as number) - 1;
      if (entry < 0) return at;
      const from = entry * HASH_BYTES;
      // Two words first: a call into Buffer.compare costs more than the rest of a probe.
      if (
        this.hashes.readUInt32LE(from) === head &&
        this.hashes.readUInt32LE(from + HASH_BYTES - 4) === tail &&
        this.hashes.compare(key, 0, HASH_BYTES, from, from + HASH_BYTES) === 0
      )
        return at;
    }
  }

  private grow(): void {
    const capacity = Math.max(1024, this.slots.length);
    const hashes = Buffer.alloc(capacity * HASH_BYTES);
    this.hashes.copy(hashes, 0, 0, this.count * HASH_BYTES);
    this.hashes = hashes;
    this.packOf = copyInto(new Int32Array(capacity), this.packOf);
    this.offsets = copyInto(new Float64Array(capacity), this.offsets);
    this.sizes = copyInto(new Float64Array(capacity), this.sizes);
    // Twice as many slots as entries at most: probes stay short.
    this.slots = new Int32Array(capacity * 2);
    const mask = this.slots.length - 1;
    for (let entry = 0; entry < this.count; entry++) {
      let at = this.hashes.readUInt32LE(entry * HASH_BYTES) & mask;
      while (this.slots[at] !== 0) at = (at + 1) & mask;
      this.slots[at] = entry + 1;
    }
  }

  private packId(pack: string): number {
    let id = this.packIds.get(pack);
    if (id === undefined) {
      id = this.packNames.push(pack) - 1;
      this.packIds.set(pack, id);
    }
    return id;
  }
}

function copyInto<T extends Int32Array | Float64Array>(target: T, source: T): T {
  target.set(source.subarray(0, Math.min(source.length, target.length)));
  return target;
}
