// .dataver/config.json: committed repository settings (cache link mode,
// remotes, default remote, plugins). Validated on every read.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { sortKeys } from '../lock/lock-file.js';
import { readTextOrUndefined } from '../util/fs.js';
import { present } from '../util/invariants.js';
import { firstDuplicateKey } from '../util/json-keys.js';
import { isJsonObject as isObject, pickKeys } from '../util/json-shape.js';
import { firstIssue } from '../util/parse-errors.js';
import type { Config } from './config-schema.js';

/** The schema, loaded only for a config the zod-free check does not accept, or to change one. */
const schema = () => require('./config-schema.js') as typeof import('./config-schema.js');

export const LINK_MODES = ['copy', 'reflink', 'hardlink', 'symlink'] as const;
export type LinkMode = (typeof LINK_MODES)[number];

export type { Config, RemoteSettings } from './config-schema.js';

export const CONFIG_DIR = '.dataver';
export const CONFIG_FILE = path.join(CONFIG_DIR, 'config.json');

export function defaultConfig(): Config {
  return present(acceptConfig({ version: 1 }), 'the default config');
}

const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string';
const isWhole = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * The config with its defaults filled in, when `raw` is one that the schema accepts and would
 * make exactly that of (a test holds it to the schema); undefined when only the schema can tell.
 * It saves every command the start-up cost of loading zod.
 */
export function acceptConfig(raw: unknown): Config | undefined {
  if (!isObject(raw, ['version', 'core', 'cache', 'remotes', 'plugins']) || raw.version !== 1)
    return undefined;
  const { core = {}, cache = {}, remotes = {}, plugins = [] } = raw;
  if (!isObject(core, ['remote']) || !isOptionalString(core.remote)) return undefined;
  if (!isObject(cache, ['link'])) return undefined;
  const link = cache.link ?? 'reflink';
  if (!(LINK_MODES as readonly unknown[]).includes(link)) return undefined;
  if (!isObject(remotes)) return undefined;
  // The remote's keys, in the order of its zod schema (the order zod returns them in).
  const order = ['url', 'endpoint', 'projectId', 'credentials', 'jobs', 'packThreshold'];
  for (const [name, r] of Object.entries(remotes)) {
    const ok =
      /^[A-Za-z0-9_.-]+$/.test(name) &&
      isObject(r, order) &&
      typeof r.url === 'string' &&
      r.url.length > 0 &&
      [r.endpoint, r.projectId, r.credentials].every(isOptionalString) &&
      (r.jobs === undefined || isWhole(r.jobs, 1, 256)) &&
      (r.packThreshold === undefined || isWhole(r.packThreshold, 0));
    if (!ok) return undefined;
  }
  if (!Array.isArray(plugins) || !plugins.every((p) => typeof p === 'string')) return undefined;
  const ordered = Object.fromEntries(
    Object.entries(remotes).map(([name, r]) => [name, pickKeys(r as Record<string, unknown>, order)]),
  );
  return { version: 1, core, cache: { link }, remotes: ordered, plugins } as Config;
}

/** Reads and validates `<root>/.dataver/config.json`. */
export async function readConfig(root: string): Promise<Config> {
  const text = await readTextOrUndefined(path.join(root, CONFIG_FILE));
  if (text === undefined) return defaultConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DataverError(
      'CONFIG_INVALID',
      `${CONFIG_FILE} is not valid JSON: ${(error as Error).message}`,
      {
        hint: `fix it by hand or restore it with \`git checkout -- ${CONFIG_FILE}\``,
      },
    );
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate) {
    throw new DataverError(
      'CONFIG_INVALID',
      `${CONFIG_FILE}: duplicated key ${JSON.stringify(duplicate.join('.'))}`,
      {
        hint: `keep one of the two (a bad merge?), or restore it with \`git checkout -- ${CONFIG_FILE}\``,
      },
    );
  }
  const accepted = acceptConfig(raw);
  if (accepted) return accepted;
  const result = schema().configSchema.safeParse(raw);
  if (!result.success) {
    const issue = firstIssue(result.error);
    throw new DataverError(
      'CONFIG_INVALID',
      `${CONFIG_FILE}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      {
        hint: 'fix the value with `dataver config set KEY VALUE`',
      },
    );
  }
  return result.data;
}

export async function writeConfig(root: string, config: Config): Promise<void> {
  await writeFileAtomic(path.join(root, CONFIG_FILE), `${JSON.stringify(sortKeys(config), null, 2)}\n`);
}

/** Maps a dotted user key (`cache.link`, `remote.origin.url`, `core.remote`) to a path in the config object. */
export function configKeyPath(key: string): string[] {
  const parts = key.split('.');
  const [section, name, field] = parts;
  if (section === 'remote' && name !== undefined && field !== undefined && parts.length === 3)
    return ['remotes', name, field];
  if ((parts[0] === 'core' || parts[0] === 'cache') && parts.length === 2) return parts;
  if (key === 'plugins') return parts;
  throw new DataverError('USAGE', `unknown config key '${key}'`, {
    hint: 'keys: core.remote, cache.link, plugins, remote.<name>.<url|endpoint|projectId|credentials|jobs|packThreshold>',
  });
}

/** Reads a dotted key; undefined when unset. */
export function getConfigValue(config: Config, key: string): unknown {
  let value: unknown = config;
  for (const part of configKeyPath(key)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Returns a new config with a dotted key set (value parsed as JSON when it looks like a number/array/bool). */
export function setConfigValue(config: Config, key: string, rawValue: string | undefined): Config {
  const keys = configKeyPath(key);
  const last = present(keys.at(-1), 'the last part of a config key');
  const copy = structuredClone(config) as Record<string, unknown>;
  let node = copy;
  for (const part of keys.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) {
      if (keys[0] === 'remotes' && part === keys[1]) {
        throw new DataverError('REMOTE_UNKNOWN', `no remote named '${part}'`, {
          hint: `add it first: dataver remote add ${part} <url>`,
        });
      }
      node[part] = {};
    }
    node = node[part] as Record<string, unknown>;
  }
  if (rawValue === undefined) delete node[last];
  else node[last] = parseConfigValue(key, last, rawValue);
  const result = schema().configSchema.safeParse(copy);
  if (!result.success) {
    throw new DataverError(
      'CONFIG_INVALID',
      `invalid value for ${key}: ${firstIssue(result.error).message}`,
      {
        hint: key === 'cache.link' ? `allowed: ${LINK_MODES.join(', ')}` : 'see `dataver config --help`',
      },
    );
  }
  return result.data;
}

const NUMERIC_KEYS = new Set(['jobs', 'packThreshold']);

/** Values are strings, except the numeric remote options and the `plugins` list (JSON). */
function parseConfigValue(key: string, last: string, raw: string): unknown {
  if (NUMERIC_KEYS.has(last)) {
    const n = Number(raw);
    if (!Number.isInteger(n)) {
      throw new DataverError('CONFIG_INVALID', `invalid value for ${key}: '${raw}' is not a whole number`, {
        hint: `e.g. dataver config set ${key} 8`,
      });
    }
    return n;
  }
  if (key === 'plugins') {
    try {
      return JSON.parse(raw);
    } catch {
      throw new DataverError('CONFIG_INVALID', `invalid value for plugins: ${raw} is not a JSON list`, {
        hint: `e.g. dataver config set plugins '["some-package/dataver-plugin"]'`,
      });
    }
  }
  return raw;
}
