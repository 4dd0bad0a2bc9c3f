// Duplicated keys in JSON text: JSON.parse keeps the last one silently, so a hand edit or a bad
// merge that repeats a key would lose data without a word. Files dataver trusts refuse them.

/**
 * The path of the first key that an object of `text` (valid JSON) holds twice, or undefined.
 *
 * @example
 * firstDuplicateKey('{"a": {"b": 1, "b": 2}}'); // ['a', 'b']
 */
export function firstDuplicateKey(text: string): string[] | undefined {
  // One frame per open object or array; for objects, the keys seen and whether a key comes next.
  const frames: Array<{ keys?: Set<string>; expectKey: boolean; key?: string }> = [];
  const pathOf = (last: string) => [...frames.slice(0, -1).map((f) => f.key ?? '[]'), last];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') frames.push({ keys: new Set(), expectKey: true });
    else if (c === '[') frames.push({ expectKey: false, key: undefined });
    else if (c === '}' || c === ']') frames.pop();
    else if (c === ',') {
      const top = frames.at(-1);
      if (top?.keys) top.expectKey = true;
    } else if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = frames.at(-1);
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return pathOf(key);
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
}
