import { createHash } from 'node:crypto';
import { SharedClients } from './shared-clients.js';
import type { KmsAdapter, KmsCallObserver, KmsCallPolicy, KmsConfig } from './types.js';

/**
 * One adapter per distinct KMS config; the SDK clients behind them are shared per credential and region/endpoint/
 * vault (SharedClients), so configs of many tenants that use the vendor identity in one region share one client,
 * its connection pool and its tokens. Keys are hashes, so credentials are not kept as map keys. A provider's SDK is
 * loaded on first use (each costs 15–20 MB and 100–170 ms to import), so a proxy whose tenants use one cloud
 * carries only that cloud's SDK.
 */
export class KmsAdapterRegistry {
  private readonly adapters = new Map<string, Promise<KmsAdapter>>();
  private readonly shared = new SharedClients();

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
      adapter = create(config, this.policy, this.observe, this.shared);
      // A failed construction is not cached: the next request retries it.
      adapter.catch(() => this.adapters.delete(key));
      this.adapters.set(key, adapter);
    }
    return adapter;
  }

  get size(): number {
    return this.adapters.size;
  }

  /** SDK clients in use (shared between adapters with the same credential and region/endpoint/vault). */
  get clientCount(): number {
    return this.shared.size;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.adapters.values()]);
    this.adapters.clear();
    await this.shared.close();
  }
}

async function create(
  config: KmsConfig,
  policy: KmsCallPolicy,
  observe: KmsCallObserver,
  shared: SharedClients,
): Promise<KmsAdapter> {
  switch (config.provider) {
    case 'aws': {
      const { AwsKmsAdapter } = await import('./aws.js');
      return new AwsKmsAdapter(config, policy, observe, shared);
    }
    case 'gcp': {
      const { GcpKmsAdapter } = await import('./gcp.js');
      return new GcpKmsAdapter(config, policy, observe, shared);
    }
    case 'azure': {
      const { AzureKmsAdapter } = await import('./azure.js');
      return new AzureKmsAdapter(config, policy, observe, shared);
    }
  }
}

/**
 * What distinguishes clients: everything in the config (key path, region, credentials, endpoint), in one order
 * whatever order the config's JSON had. Field names are ASCII, so code-unit order does; `localeCompare` would load
 * ICU's collation data (2 MB resident) for nothing.
 */
function identity(config: KmsConfig): unknown[] {
  return Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1));
}
