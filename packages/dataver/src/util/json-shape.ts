// Shape checks for parsed JSON, shared by the zod-free readers of data.lock.json and
// .dataver/config.json (lock/accept.ts, core/config.ts).

export type JsonObject = Record<string, unknown>;

/**
 * A plain JSON object (not null, not an array) whose keys are all in `allowed` when given, and
 * none `__proto__` (a record the schemas may treat otherwise: left to them).
 *
 * @example
 * isJsonObject({ url: 'x' }, ['url', 'jobs']); // true
 */
export function isJsonObject(v: unknown, allowed?: readonly string[]): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.keys(v).every((k) => k !== '__proto__' && (!allowed || allowed.includes(k)));
}

/**
 * A copy of `o` with the keys of `order` that it holds, in that order (as zod returns objects).
 *
 * @example
 * pickKeys({ b: 1, a: 2 }, ['a', 'b']); // { a: 2, b: 1 }
 */
export function pickKeys(o: JsonObject, order: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of order) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
