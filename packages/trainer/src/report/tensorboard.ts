// TensorBoard event files written by hand: TFRecord framing (length, masked CRC32C of the length, data,
// masked CRC32C of the data) around `Event` protobufs with scalar summaries. No TensorFlow needed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32C (Castagnoli) of bytes.
 *
 * @example
 * ```ts
 * crc32c(Buffer.from('123456789')); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masked CRC: rotate right by 15 and add a constant.
 *
 * @example
 * ```ts
 * maskedCrc32c(Buffer.alloc(8));
 * ```
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** Encodes an `Event` with wall time, step and either a file version or scalar values.
 *
 * @example
 * ```ts
 * frameRecord(encodeEvent(Date.now() / 1000, 3, { scalars: { 'loss/train': 0.2 } }));
 * ```
 */
export function encodeEvent(
  wallTime: number,
  step: number,
  content: { fileVersion: string } | { scalars: Record<string, number> },
): Buffer {
  const wt = Buffer.alloc(9);
  wt[0] = (1 << 3) | 1;
  wt.writeDoubleLE(wallTime, 1);
  const parts: Buffer[] = [wt, Buffer.from([(2 << 3) | 0, ...varint(step)])];
  if ('fileVersion' in content) {
    parts.push(lengthDelimited(3, Buffer.from(content.fileVersion)));
  } else {
    const values = Object.entries(content.scalars).map(([tag, v]) => {
      const f = Buffer.alloc(5);
      f[0] = (2 << 3) | 5;
      f.writeFloatLE(v, 1);
      return lengthDelimited(1, Buffer.concat([lengthDelimited(1, Buffer.from(tag)), f]));
    });
    parts.push(lengthDelimited(5, Buffer.concat(values)));
  }
  return Buffer.concat(parts);
}

/** Frames one record: u64 length, masked crc of the length, data, masked crc of the data.
 *
 * @example
 * ```ts
 * fs.appendFileSync(file, frameRecord(eventBytes));
 * ```
 */
export function frameRecord(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const lc = Buffer.alloc(4);
  lc.writeUInt32LE(maskedCrc32c(len));
  const dc = Buffer.alloc(4);
  dc.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([len, lc, Buffer.from(data), dc]);
}

/** Appends scalar summaries to a TensorBoard event file. */
export class EventWriter {
  readonly file: string;

  /**
   * @example
   * ```ts
   * const w = new EventWriter('out/tensorboard'); w.scalars(1, { 'loss/train': 0.3 });
   * ```
   */
  constructor(dir: string, now = Date.now()) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(now / 1000)}.${os.hostname()}`);
    fs.writeFileSync(this.file, frameRecord(encodeEvent(now / 1000, 0, { fileVersion: 'brain.Event:2' })));
  }

  /** Writes one event with several scalars at a step. */
  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    fs.appendFileSync(this.file, frameRecord(encodeEvent(wallTime, step, { scalars: values })));
  }
}

/** A parsed record (for tests and tools): data and whether both CRCs matched. */
export interface ParsedRecord {
  data: Buffer;
  lengthCrcOk: boolean;
  dataCrcOk: boolean;
}

/**
 * Splits a TFRecord file into records, checking both CRCs of each.
 *
 * @example
 * ```ts
 * readRecords(fs.readFileSync(file)).every((r) => r.dataCrcOk);
 * ```
 */
export function readRecords(buf: Buffer): ParsedRecord[] {
  const out: ParsedRecord[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const lenBytes = buf.subarray(off, off + 8);
    const len = Number(buf.readBigUInt64LE(off));
    const lengthCrcOk = buf.readUInt32LE(off + 8) === maskedCrc32c(lenBytes);
    const data = buf.subarray(off + 12, off + 12 + len);
    const dataCrcOk = off + 16 + len <= buf.length && buf.readUInt32LE(off + 12 + len) === maskedCrc32c(data);
    out.push({ data, lengthCrcOk, dataCrcOk });
    off += 16 + len;
  }
  return out;
}
