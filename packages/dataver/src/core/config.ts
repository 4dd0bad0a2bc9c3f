// .dataver/config.json: committed repository settings (cache link mode,
// remotes, default remote, plugins). Validated on every read.
import path from 'node:path';
import { DataverError, writeFileAtomic } from '@dataver/foundation';
import { z } from 'zod';
import { sortKeys } from '../lock/lock-file.js';
import { readTextOrUndefined } from '../util/fs.js';
import { present } from '../util/invariants.js';
import { firstDuplicateKey } from '../util/json-keys.js';
import { firstIssue } from '../util/parse-errors.js';

export const LINK_MODES = ['copy', 'reflink', 'hardlink', 'symlink'] as const;
export type LinkMode = (typeof LINK_MODES)[number];

const remoteSchema = z
  .object({
    url: z.string().min(1),
    endpoint: z.string().optional(),
    projectId: z.string().optional(),
    credentials: z.string().optional(),
    jobs: z.number().int().positive().max(256).optional(),
    packThreshold: z.number().int().nonnegative().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    version: z.literal(1),
    core: z.object({ remote: z.string().optional() }).strict().default({}),
    cache: z
      .object({
        /** How workspace files are made from the cache: reflink (falls back to copy), copy, hardlink, symlink. */
        link: z.enum(LINK_MODES).default('reflink'),
      })
      .strict()
      .default({ link: 'reflink' }),
    remotes: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), remoteSchema).default({}),
    /** Modules that contribute tensor metadata readers (e.g. `some-package/dataver-plugin`). */
    plugins: z.array(z.string()).default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type RemoteSettings = z.infer<typeof remoteSchema>;

export const CONFIG_DIR = '.dataver';
export const CONFIG_FILE = path.join(CONFIG_DIR, 'config.json');

export function defaultConfig(): Config {
  return configSchema.parse({ version: 1 });
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
  const result = configSchema.safeParse(raw);
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
  const result = configSchema.safeParse(copy);
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
