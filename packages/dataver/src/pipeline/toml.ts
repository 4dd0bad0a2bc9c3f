// A small TOML reader for params and metrics files: tables (`[a.b]`), arrays of tables
// (`[[a]]`), dotted and quoted keys, strings (basic, literal, multi-line), integers, floats,
// booleans, dates kept as text, arrays and inline tables. Enough for the files that ML code
// writes with `toml.dump`; anything else is an error with its line.
import { DataverError } from '@dataver/foundation';

type Table = Record<string, unknown>;

/**
 * Parses TOML text.
 *
 * @example
 * parseToml('[train]\nlr = 0.1\n'); // { train: { lr: 0.1 } }
 */
export function parseToml(text: string, file = 'TOML'): Table {
  const root: Table = {};
  let current = root;
  const src = text.replace(/\r\n/g, '\n');
  let i = 0;
  let line = 1;
  const fail = (message: string): never => {
    throw new DataverError('PIPELINE_INVALID', `${file}:${line}: invalid TOML: ${message}`, {
      hint: `fix ${file}`,
      data: { file, line },
    });
  };
  const peek = () => src[i] ?? '';
  const skipSpace = () => {
    while (peek() === ' ' || peek() === '\t') i++;
  };
  const skipComment = () => {
    if (peek() === '#') while (i < src.length && src[i] !== '\n') i++;
  };
  const skipBlank = () => {
    for (;;) {
      skipSpace();
      skipComment();
      if (peek() === '\n') {
        i++;
        line++;
      } else return;
    }
  };
  const endOfLine = () => {
    skipSpace();
    skipComment();
    if (i < src.length && peek() !== '\n') fail(`unexpected '${peek()}'`);
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipSpace();
      if (peek() === '"' || peek() === "'") parts.push(stringValue());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(src.slice(i));
        if (!m) fail('expected a key');
        parts.push(m?.[0] ?? '');
        i += m?.[0].length ?? 0;
      }
      skipSpace();
      if (peek() !== '.') return parts;
      i++;
    }
  };
  const stringValue = (): string => {
    const quote = peek();
    const triple = src.startsWith(quote.repeat(3), i);
    if (triple) {
      i += 3;
      if (peek() === '\n') {
        i++;
        line++;
      }
      const end = src.indexOf(quote.repeat(3), i);
      if (end < 0) fail('unterminated string');
      const raw = src.slice(i, end);
      line += raw.split('\n').length - 1;
      i = end + 3;
      return quote === '"' ? unescapeBasic(raw.replace(/\\\n\s*/g, '')) : raw;
    }
    i++;
    let out = '';
    while (i < src.length && peek() !== quote) {
      if (peek() === '\n') fail('newline in a string');
      if (quote === '"' && peek() === '\\') {
        out += src.slice(i, i + 2);
        if (src[i + 1] === 'u') out += src.slice(i + 2, i + 6);
        if (src[i + 1] === 'U') out += src.slice(i + 2, i + 10);
        i += src[i + 1] === 'u' ? 6 : src[i + 1] === 'U' ? 10 : 2;
      } else out += src[i++];
    }
    if (peek() !== quote) fail('unterminated string');
    i++;
    return quote === '"' ? unescapeBasic(out) : out;
  };
  const unescapeBasic = (s: string): string =>
    s.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, e: string) => {
      if (e.length > 1) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      const simple: Record<string, string> = {
        b: '\b',
        t: '\t',
        n: '\n',
        f: '\f',
        r: '\r',
        '"': '"',
        '\\': '\\',
      };
      const c = simple[e];
      if (c === undefined) fail(`unknown escape \\${e}`);
      return c ?? '';
    });
  const value = (): unknown => {
    skipSpace();
    const c = peek();
    if (c === '"' || c === "'") return stringValue();
    if (c === '[') {
      i++;
      const items: unknown[] = [];
      for (;;) {
        skipBlank();
        if (peek() === ']') {
          i++;
          return items;
        }
        items.push(value());
        skipBlank();
        if (peek() === ',') i++;
        else if (peek() !== ']') fail('expected , or ] in an array');
      }
    }
    if (c === '{') {
      i++;
      const table: Table = {};
      skipSpace();
      if (peek() === '}') {
        i++;
        return table;
      }
      for (;;) {
        const k = key();
        if (peek() !== '=') fail('expected = in an inline table');
        i++;
        setKey(table, k, value());
        skipSpace();
        if (peek() === ',') i++;
        else if (peek() === '}') {
          i++;
          return table;
        } else fail('expected , or } in an inline table');
      }
    }
    const m = /^[^\s,\]}#]+/.exec(src.slice(i));
    const word = m?.[0] ?? '';
    i += word.length;
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (/^[+-]?(inf|nan)$/.test(word))
      return word.includes('nan') ? Number.NaN : word.startsWith('-') ? -Infinity : Infinity;
    const plain = word.replace(/_/g, '');
    if (/^[+-]?(0x[0-9A-Fa-f]+|0o[0-7]+|0b[01]+)$/.test(plain)) {
      const sign = plain.startsWith('-') ? -1 : 1;
      return sign * Number(plain.replace(/^[+-]/, ''));
    }
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(plain)) return Number(plain);
    if (/^\d{4}-\d{2}-\d{2}/.test(word) || /^\d{2}:\d{2}/.test(word)) {
      // A date-time may hold one space: `1979-05-27 07:32:00Z`.
      const rest = /^ \d{2}:\d{2}[^\s,\]}#]*/.exec(src.slice(i));
      if (rest) i += rest[0].length;
      return rest ? `${word}${rest[0]}` : word;
    }
    return fail(word ? `unknown value '${word}'` : 'expected a value');
  };
  const setKey = (table: Table, parts: string[], v: unknown) => {
    let t = table;
    for (const p of parts.slice(0, -1)) {
      if (t[p] === undefined) t[p] = {};
      if (typeof t[p] !== 'object' || t[p] === null || Array.isArray(t[p])) fail(`'${p}' is not a table`);
      t = t[p] as Table;
    }
    const last = parts[parts.length - 1] ?? '';
    if (last in t) fail(`'${parts.join('.')}' is defined twice`);
    t[last] = v;
  };
  const tableAt = (parts: string[], arrayItem: boolean): Table => {
    let t = root;
    for (const [n, p] of parts.entries()) {
      const last = n === parts.length - 1;
      let next = t[p];
      if (last && arrayItem) {
        if (next === undefined) next = t[p] = [];
        if (!Array.isArray(next)) fail(`'${parts.join('.')}' is not an array of tables`);
        const item: Table = {};
        (next as unknown[]).push(item);
        return item;
      }
      if (next === undefined) next = t[p] = {};
      if (Array.isArray(next)) next = next[next.length - 1];
      if (typeof next !== 'object' || next === null) fail(`'${p}' is not a table`);
      t = next as Table;
    }
    return t;
  };
  for (;;) {
    skipBlank();
    if (i >= src.length) return root;
    if (peek() === '[') {
      const arrayItem = src.startsWith('[[', i);
      i += arrayItem ? 2 : 1;
      const parts = key();
      if (!src.startsWith(arrayItem ? ']]' : ']', i)) fail('expected ] after a table name');
      i += arrayItem ? 2 : 1;
      current = tableAt(parts, arrayItem);
      endOfLine();
      continue;
    }
    const parts = key();
    if (peek() !== '=') fail('expected =');
    i++;
    setKey(current, parts, value());
    endOfLine();
  }
}
