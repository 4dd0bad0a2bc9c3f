// The zod schema of .dataver/config.json: the reference that config.ts's zod-free check is held
// to, and the validator (with its error messages) of every config that check does not accept.
import { z } from 'zod';
import { LINK_MODES } from './config.js';

export const remoteSchema = z
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
