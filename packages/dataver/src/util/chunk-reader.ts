// Exact-size reads from a stream of chunks: the pack reader slices objects out of a ranged
// download with it, and the git history reader parses `git cat-file --batch` output with it.

/**
 * Reads exact byte counts (or lines) from an async iterator of chunks.
 *
 * @example
 * const reader = new ChunkReader(stream[Symbol.asyncIterator]());
 * const header = await reader.line();
 * const body = await reader.take(Number(header?.split(' ')[2]));
 */
export class ChunkReader {
  /** Unread chunks; the first one is read from `head` on. */
  private chunks: Buffer[] = [];
  private head = 0;
  private have = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.ended) {
      const r = await this.source.next();
      if (r.done) this.ended = true;
      else {
        this.chunks.push(r.value);
        this.have += r.value.length;
      }
    }
  }

  /** The next `n` bytes, or fewer if the stream ends first. */
  async take(n: number): Promise<Buffer> {
    await this.fill(n);
    const parts: Buffer[] = [];
    let need = Math.min(n, this.have);
    this.have -= need;
    while (need > 0) {
      const first = this.chunks[0];
      if (first === undefined) break; // `have` counts the bytes of `chunks`: not reached
      const avail = first.length - this.head;
      if (avail <= need) {
        parts.push(this.head === 0 ? first : first.subarray(this.head));
        this.chunks.shift();
        this.head = 0;
        need -= avail;
      } else {
        parts.push(first.subarray(this.head, this.head + need));
        this.head += need;
        need = 0;
      }
    }
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
  }

  /** The next line without its `\n`, or undefined at the end of the stream (a last line without `\n` counts). */
  async line(): Promise<string | undefined> {
    for (let scanned = 0; ; ) {
      const at = this.indexOfNewline(scanned);
      if (at >= 0) {
        const text = (await this.take(at)).toString('utf8');
        await this.take(1);
        return text;
      }
      scanned = this.have;
      if (this.ended) return this.have > 0 ? (await this.take(this.have)).toString('utf8') : undefined;
      await this.fill(this.have + 1);
    }
  }

  /** Offset of the first `\n` among the unread bytes, searching from offset `from`; -1 if none. */
  private indexOfNewline(from: number): number {
    let offset = 0;
    for (const [i, chunk] of this.chunks.entries()) {
      const start = i === 0 ? this.head : 0;
      const length = chunk.length - start;
      if (offset + length > from) {
        const found = chunk.indexOf(10, start + Math.max(0, from - offset));
        if (found >= 0) return offset + found - start;
      }
      offset += length;
    }
    return -1;
  }
}
