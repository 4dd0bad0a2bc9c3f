// A restricted unpickler and a tiny pickle writer for PyTorch's data.pkl. Reading only ever
// calls a fixed whitelist of rebuild functions; any other global is refused, never executed.
import { DataverError } from '@dataver/foundation';

/** A reference to a Python global (`module.name`) that the whitelist allowed. */
export interface PyGlobal {
  kind: 'global';
  module: string;
  name: string;
}

/** Called for each whitelisted global applied to its arguments (REDUCE). */
export type GlobalHandler = (args: unknown[]) => unknown;

export interface UnpickleOptions {
  /** `module.name` → what calling it builds. Globals outside this map are refused. */
  callables: ReadonlyMap<string, GlobalHandler>;
  /** `module.name` of globals that may appear as plain values (storage classes). */
  values: ReadonlySet<string>;
  /** Resolves a BINPERSID id (torch storages). */
  persistentLoad(pid: unknown): unknown;
}

/**
 * True for a whitelisted global reference produced by the unpickler.
 *
 * @example
 * if (isPyGlobal(value)) console.log(`${value.module}.${value.name}`);
 */
export function isPyGlobal(value: unknown): value is PyGlobal {
  return typeof value === 'object' && value !== null && (value as PyGlobal).kind === 'global';
}

/**
 * Runs a pickle program over a restricted set of opcodes (protocols 0–5 as PyTorch emits them).
 *
 * @example
 * const obj = unpickle(bytes, { callables: new Map(), values: new Set(), persistentLoad: () => null });
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return unpickleFrom(bytes, 0, options).value;
}

/**
 * Like `unpickle`, starting at `start`; also returns where the pickle ended (legacy .pt files chain several).
 *
 * @example
 * const { value, end } = unpickleFrom(bytes, 0, options); // then the next pickle at `end`
 */
export function unpickleFrom(
  bytes: Uint8Array,
  start: number,
  options: UnpickleOptions,
): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const decoder = new TextDecoder('utf-8', { fatal: true });

  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new DataverError('TRUNCATED', 'pickle ends early');
  };
  // every read below checks its bounds first (`need`), so the element exists
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    const lo = u32();
    const hi = u32();
    if (hi >= 0x200000) throw new DataverError('TOO_LARGE', 'pickle length field is too large');
    return hi * 0x100000000 + lo;
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const text = (n: number): string => {
    try {
      return decoder.decode(take(n));
    } catch (cause) {
      if (cause instanceof DataverError) throw cause;
      throw new DataverError('CORRUPT', 'pickle holds invalid UTF-8 text', { cause });
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new DataverError('TRUNCATED', 'pickle ends inside a text line');
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    const mark = marks.at(-1);
    if (stack.length === 0 || (mark !== undefined && stack.length <= mark)) {
      throw new DataverError('CORRUPT', 'pickle pops from an empty stack');
    }
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new DataverError('CORRUPT', 'pickle reads an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new DataverError('CORRUPT', 'pickle has no MARK to pop to');
    return stack.splice(m);
  };
  const signedLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    // little-endian two's complement: the last byte is the most significant
    let v = b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
    if ((b.at(-1) ?? 0) & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const full = `${module}.${name}`;
    if (!options.callables.has(full) && !options.values.has(full)) {
      throw new DataverError(
        'PICKLE_FORBIDDEN',
        `pickle refers to ${full}, which is not on the tensor whitelist; refused`,
        {
          hint: 'this file may be malicious; only plain tensors and containers of tensors can be read',
        },
      );
    }
    return { kind: 'global', module, name };
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map))
      throw new DataverError('CORRUPT', 'pickle sets items on something that is not a dict');
    if (items.length % 2) throw new DataverError('CORRUPT', 'pickle SETITEMS with an odd item count');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target))
      throw new DataverError('CORRUPT', 'pickle appends to something that is not a list');
    for (const it of items) target.push(it);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw new DataverError('UNSUPPORTED_CONTENT', 'pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length)
          throw new DataverError('CORRUPT', 'pickle stops with a malformed stack');
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLong(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > 64) throw new DataverError('UNSUPPORTED_CONTENT', 'pickle integer is too long');
        stack.push(signedLong(take(n)));
        break;
      }
      case 0x49: {
        // INT (protocol 0): also encodes True/False as 01/00
        const s = line().trim();
        if (s === '01' || s === '00') stack.push(s === '01');
        else if (/^-?\d{1,15}$/.test(s)) stack.push(Number(s));
        else throw new DataverError('CORRUPT', 'pickle INT is not a number');
        break;
      }
      case 0x4c: {
        // LONG (protocol 0)
        const s = line().trim().replace(/L$/, '');
        if (!/^-?\d{1,15}$/.test(s))
          throw new DataverError('UNSUPPORTED_CONTENT', 'pickle LONG is out of range');
        stack.push(Number(s));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(Buffer.from(take(u8())).toString('latin1'));
        break;
      case 0x54: // BINSTRING
        stack.push(Buffer.from(take(u32())).toString('latin1'));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(key))
          throw new DataverError('CORRUPT', `pickle reads memo slot ${key}, which was never set`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new DataverError('CORRUPT', 'pickle STACK_GLOBAL without string names');
        }
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(options.persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!isPyGlobal(fn)) throw new DataverError('CORRUPT', 'pickle calls something that is not a global');
        const handler = options.callables.get(`${fn.module}.${fn.name}`);
        if (!handler) {
          throw new DataverError(
            'PICKLE_FORBIDDEN',
            `pickle calls ${fn.module}.${fn.name}, which is not callable here; refused`,
          );
        }
        if (!Array.isArray(args))
          throw new DataverError('CORRUPT', 'pickle REDUCE arguments are not a tuple');
        stack.push(handler(args));
        break;
      }
      case 0x62: {
        // BUILD: tolerated only as a no-op state (torch attaches empty state to some objects)
        const state = pop();
        const empty =
          state === null ||
          (state instanceof Map && state.size === 0) ||
          (Array.isArray(state) && state.length === 0);
        if (!empty) throw new DataverError('PICKLE_FORBIDDEN', 'pickle sets object state (BUILD); refused');
        top();
        break;
      }
      default:
        throw new DataverError(
          op === 0x81 || op === 0x92 || op === 0x69 || op === 0x6f ? 'PICKLE_FORBIDDEN' : 'CORRUPT',
          `pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1} is not allowed in a tensor file`,
        );
    }
  }
}

/**
 * Builds a protocol-2 pickle with only opcodes that torch's weights_only loader accepts.
 *
 * @example
 * const pkl = new PickleWriter().mark().int(1).str('a').tuple().finish();
 */
export class PickleWriter {
  private parts: number[] = [];

  constructor() {
    this.parts.push(0x80, 2);
  }

  private bytes(b: Uint8Array | number[]): this {
    for (const x of b) this.parts.push(x);
    return this;
  }

  global(module: string, name: string): this {
    this.parts.push(0x63);
    return this.bytes(Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }

  mark(): this {
    this.parts.push(0x28);
    return this;
  }

  tuple(): this {
    this.parts.push(0x74);
    return this;
  }

  emptyTuple(): this {
    this.parts.push(0x29);
    return this;
  }

  emptyList(): this {
    this.parts.push(0x5d);
    return this;
  }

  appends(): this {
    this.parts.push(0x65);
    return this;
  }

  emptyDict(): this {
    this.parts.push(0x7d);
    return this;
  }

  setItems(): this {
    this.parts.push(0x75);
    return this;
  }

  int(value: number): this {
    if (!Number.isSafeInteger(value)) throw new DataverError('USAGE', `cannot pickle non-integer ${value}`);
    if (value >= 0 && value < 0x100) {
      this.parts.push(0x4b, value);
    } else if (value >= 0 && value < 0x10000) {
      this.parts.push(0x4d, value & 0xff, value >> 8);
    } else if (value >= -0x80000000 && value < 0x80000000) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(value);
      this.parts.push(0x4a);
      this.bytes(b);
    } else {
      // LONG1: minimal two's complement little-endian
      let v = BigInt(value);
      const out: number[] = [];
      for (;;) {
        const byte = Number(v & 0xffn);
        out.push(byte);
        v >>= 8n;
        if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
      }
      this.parts.push(0x8a, out.length);
      this.bytes(out);
    }
    return this;
  }

  str(value: string): this {
    const b = Buffer.from(value, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.parts.push(0x58);
    return this.bytes(len).bytes(b);
  }

  bool(value: boolean): this {
    this.parts.push(value ? 0x88 : 0x89);
    return this;
  }

  none(): this {
    this.parts.push(0x4e);
    return this;
  }

  persid(): this {
    this.parts.push(0x51);
    return this;
  }

  reduce(): this {
    this.parts.push(0x52);
    return this;
  }

  finish(): Uint8Array {
    this.parts.push(0x2e);
    return Uint8Array.from(this.parts);
  }
}
