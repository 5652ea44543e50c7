import { createHash } from 'node:crypto';
import type { KmsAdapter, KmsCallObserver, KmsCallPolicy, KmsConfig } from './types.js';

/**
 * One adapter (and so one SDK client) per credential and region/vault/key: configs of many tenants that share the
 * vendor identity and region share a client and its connection pool. The key is a hash, so credentials are not
 * kept as map keys. A provider's SDK is loaded on first use (each costs 15–20 MB and 100–170 ms to import), so a
 * proxy whose tenants use one cloud carries only that cloud's SDK.
 */
export class KmsAdapterRegistry {
  private readonly adapters = new Map<string, Promise<KmsAdapter>>();

  constructor(
    private readonly policy: KmsCallPolicy,
    private readonly observe: KmsCallObserver,
  ) {}

  get(config: KmsConfig): Promise<KmsAdapter> {
    const key = createHash('sha256')
      .update(JSON.stringify(identity(config)))
      .digest('base64url');
    let adapter = this.adapters.get(key);
    if (!adapter) {
      adapter = create(config, this.policy, this.observe);
      // A failed construction is not cached: the next request retries it.
      adapter.catch(() => this.adapters.delete(key));
      this.adapters.set(key, adapter);
    }
    return adapter;
  }

  get size(): number {
    return this.adapters.size;
  }

  async close(): Promise<void> {
    const adapters = await Promise.allSettled([...this.adapters.values()]);
    this.adapters.clear();
    await Promise.all(
      adapters.map((result) => {
        const adapter =
          result.status === 'fulfilled' ? (result.value as KmsAdapter & { close?: () => Promise<void> }) : undefined;
        return adapter?.close?.().catch(() => undefined);
      }),
    );
  }
}

async function create(config: KmsConfig, policy: KmsCallPolicy, observe: KmsCallObserver): Promise<KmsAdapter> {
  switch (config.provider) {
    case 'aws': {
      const { AwsKmsAdapter } = await import('./aws.js');
      return new AwsKmsAdapter(config, policy, observe);
    }
    case 'gcp': {
      const { GcpKmsAdapter } = await import('./gcp.js');
      return new GcpKmsAdapter(config, policy, observe);
    }
    case 'azure': {
      const { AzureKmsAdapter } = await import('./azure.js');
      return new AzureKmsAdapter(config, policy, observe);
    }
  }
}

/** What distinguishes clients: everything in the config (key path, region, credentials, endpoint). */
function identity(config: KmsConfig): unknown[] {
  return Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
}
