import { createHash } from 'node:crypto';
import { AwsKmsAdapter } from './aws.js';
import { AzureKmsAdapter } from './azure.js';
import { GcpKmsAdapter } from './gcp.js';
import type { KmsAdapter, KmsCallObserver, KmsCallPolicy, KmsConfig } from './types.js';

/**
 * One adapter (and so one SDK client) per credential and region/vault/key: configs of many tenants that share the
 * vendor identity and region share a client and its connection pool. The key is a hash, so credentials are not
 * kept as map keys.
 */
export class KmsAdapterRegistry {
  private readonly adapters = new Map<string, KmsAdapter>();

  constructor(
    private readonly policy: KmsCallPolicy,
    private readonly observe: KmsCallObserver,
  ) {}

  get(config: KmsConfig): KmsAdapter {
    const key = createHash('sha256').update(JSON.stringify(identity(config))).digest('base64url');
    let adapter = this.adapters.get(key);
    if (!adapter) {
      adapter = create(config, this.policy, this.observe);
      this.adapters.set(key, adapter);
    }
    return adapter;
  }

  get size(): number {
    return this.adapters.size;
  }

  async close(): Promise<void> {
    const closing = [...this.adapters.values()].map((adapter) => (adapter instanceof GcpKmsAdapter ? adapter.close().catch(() => undefined) : undefined));
    this.adapters.clear();
    await Promise.all(closing);
  }
}

function create(config: KmsConfig, policy: KmsCallPolicy, observe: KmsCallObserver): KmsAdapter {
  switch (config.provider) {
    case 'aws':
      return new AwsKmsAdapter(config, policy, observe);
    case 'gcp':
      return new GcpKmsAdapter(config, policy, observe);
    case 'azure':
      return new AzureKmsAdapter(config, policy, observe);
  }
}

/** What distinguishes clients: everything in the config (key path, region, credentials, endpoint). */
function identity(config: KmsConfig): unknown[] {
  return Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
}
