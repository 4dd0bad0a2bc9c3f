// Google Cloud Storage (placeholder until the client-backed implementation lands).
import { DataverError } from '../errors.js';
import type { Storage, StorageEntry } from './types.js';

export interface GcsStorageOptions {
  url: string;
  endpoint?: string;
  projectId?: string;
  credentials?: string;
  env?: NodeJS.ProcessEnv;
  remoteName?: string;
}

export class GcsStorage implements Storage {
  readonly url: string;
  constructor(options: GcsStorageOptions) {
    this.url = options.url;
  }
  private fail(): never {
    throw new DataverError('REMOTE_ERROR', 'GCS remotes are not available yet');
  }
  async put(): Promise<void> {
    this.fail();
  }
  async get(): Promise<never> {
    this.fail();
  }
  async getBuffer(): Promise<Buffer> {
    this.fail();
  }
  async stat(): Promise<StorageEntry | undefined> {
    this.fail();
  }
  // biome-ignore lint/correctness/useYield: placeholder
  async *list(): AsyncIterable<StorageEntry> {
    this.fail();
  }
  async delete(): Promise<void> {
    this.fail();
  }
}
