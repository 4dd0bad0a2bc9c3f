// `dataver remote test`: can this remote be reached, do its credentials work, may they write?
// A probe object is put, read back and deleted; what the remote is comes from its Storage's
// `describe()`, so the report can never hold a secret.
import { randomBytes } from 'node:crypto';
import { DataverError } from '@dataver/foundation';
import type { StorageDescription } from '../storage/types.js';
import type { RemoteSettings } from './config.js';
import { openRemote, type RemoteContext, remoteSettings } from './remotes.js';
import type { Repo } from './repo.js';

/** What `dataver remote test` reports (never a secret). */
export interface RemoteTestReport {
  url: string;
  kind: StorageDescription['kind'];
  /** See StorageDescription.credentialSource. */
  credentialSource: string;
  endpoint?: string;
  reachable: boolean;
  authenticated: boolean;
  writable: boolean;
  /** Objects the remote index lists. */
  indexedObjects: number;
  elapsedMs: number;
}

/**
 * Checks that a remote is reachable, that the credentials work and that they may write (a probe
 * object is put, read back and deleted). Failures throw a REMOTE_* DataverError with a hint.
 *
 * @example
 * const report = await testRemote('origin', { url: 'gs://bucket/data' }, { repoRoot, env: process.env });
 * console.log(report.credentialSource);
 */
export async function testRemote(
  name: string,
  config: RemoteSettings,
  ctx: RemoteContext,
): Promise<RemoteTestReport> {
  const started = Date.now();
  const store = openRemote(name, config, ctx);
  try {
    const { storage } = store;
    const description = await storage.describe();
    const probe = `probes/probe-${randomBytes(8).toString('hex')}`;
    const payload = randomBytes(64);
    await storage.put(probe, payload, { size: payload.length });
    const back = await storage.getBuffer(probe);
    await storage.delete(probe);
    if (!back.equals(payload)) {
      throw new DataverError('REMOTE_ERROR', `remote ${name}: a probe object came back different`, {
        hint: 'the remote storage is not returning what was written; check the endpoint',
      });
    }
    await store.index.load();
    return {
      url: store.url,
      kind: description.kind,
      credentialSource: description.credentialSource,
      endpoint: description.endpoint,
      reachable: true,
      authenticated: true,
      writable: true,
      indexedObjects: store.index.size,
      elapsedMs: Date.now() - started,
    };
  } finally {
    await store.close();
  }
}

/**
 * testRemote for a configured remote (or the default one), with its name in the report.
 *
 * @example
 * const report = await testConfiguredRemote(repo, 'origin');
 */
export async function testConfiguredRemote(
  repo: Repo,
  name?: string,
): Promise<RemoteTestReport & { remote: string }> {
  const { name: chosen, config } = remoteSettings(repo, name);
  const ctx = { repoRoot: repo.root, env: process.env, createInsideRepo: true };
  return { remote: chosen, ...(await testRemote(chosen, config, ctx)) };
}
