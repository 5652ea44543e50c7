import { open, type SealContext } from '@opencmk/crypto';
import { TspError } from './errors.js';
import { loggingConfigSchema, type LoggingConfig } from './events/logging-config.js';
import type { Snapshot, SnapshotKmsConfig, SnapshotLoggingConfig } from './broker/snapshot-schema.js';
import type { KmsAdapterRegistry } from './kms/registry.js';
import { kmsConfigSchema, type KmsAdapter, type KmsConfig } from './kms/types.js';
import type { Logger } from './logger.js';

export interface SealOpener {
  privateKey: Uint8Array;
  vendorId: string;
}

/**
 * One KMS config of one tenant. The sealed payload is opened on first use, not when the snapshot arrives: a proxy
 * with 10,000 tenants is ready as soon as the snapshot is parsed, and only configs that carry traffic cost an HPKE
 * open. The plaintext config lives only inside the adapter built from it.
 */
export class KmsConfigEntry {
  private adapterValue: Promise<KmsAdapter> | undefined;
  private openFailure: TspError | undefined;

  constructor(
    readonly tenantId: string,
    readonly meta: SnapshotKmsConfig,
    private readonly opener: SealOpener,
    private readonly registry: KmsAdapterRegistry,
    private readonly logger: Logger,
  ) {}

  get id(): number {
    return this.meta.id;
  }
  get disabled(): boolean {
    return this.meta.status === 'disabled';
  }
  get leasing(): boolean {
    return this.meta.leasingAllowed;
  }

  /** Same config, same version, same sealed copy: the entry (and its opened adapter and leases) can be kept. */
  sameAs(meta: SnapshotKmsConfig): boolean {
    return (
      this.meta.id === meta.id &&
      this.meta.version === meta.version &&
      this.meta.status === meta.status &&
      this.meta.leasingAllowed === meta.leasingAllowed &&
      this.meta.sealed === meta.sealed
    );
  }

  adapter(): Promise<KmsAdapter> {
    if (this.adapterValue) return this.adapterValue;
    if (this.openFailure) return Promise.reject(this.openFailure);
    try {
      this.adapterValue = this.registry.get(this.openConfig());
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.adapterValue;
  }

  /** Opens the sealed payload (HPKE, then the contract's schema); the plaintext only reaches the adapter. */
  private openConfig(): KmsConfig {
    if (this.disabled || this.meta.sealed === null) {
      throw new TspError(202, `KMS config ${this.id} of tenant '${this.tenantId}' is disabled`);
    }
    let config: KmsConfig;
    try {
      const context: SealContext = {
        purpose: 'kms-config',
        vendorId: this.opener.vendorId,
        tenantId: this.tenantId,
        subjectId: String(this.id),
        subjectVersion: this.meta.version,
      };
      const payload = JSON.parse(
        Buffer.from(open(this.meta.sealed, this.opener.privateKey, context)).toString('utf8'),
      ) as unknown;
      const parsed = kmsConfigSchema.safeParse(payload);
      if (!parsed.success)
        throw new Error(
          `sealed KMS config does not match the contract: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
        );
      if (parsed.data.provider !== this.meta.provider)
        throw new Error(`sealed provider ${parsed.data.provider} differs from snapshot provider ${this.meta.provider}`);
      config = parsed.data;
    } catch (error) {
      // Never log the payload; the reason names the failure class only (wrong recipient, tampered, schema).
      const reason = error instanceof Error ? error.message : 'cannot open';
      this.logger.error({ tenantId: this.tenantId, kmsConfigId: this.id, reason }, 'cannot open sealed KMS config');
      this.openFailure = new TspError(207, `KMS config ${this.id} cannot be used: ${reason}`);
      throw this.openFailure;
    }
    return config;
  }
}

export class LoggingConfigEntry {
  private configValue: LoggingConfig | undefined;
  private failed = false;
  constructor(
    readonly tenantId: string,
    readonly meta: SnapshotLoggingConfig,
    private readonly opener: SealOpener,
    private readonly logger: Logger,
  ) {}

  sameAs(meta: SnapshotLoggingConfig | null | undefined): boolean {
    return !!meta && meta.id === this.meta.id && meta.version === this.meta.version && meta.sealed === this.meta.sealed;
  }

  /** The opened config, or undefined when it cannot be opened (events then go to stdout, and it is logged). */
  config(): LoggingConfig | undefined {
    if (this.configValue || this.failed) return this.configValue;
    try {
      const context: SealContext = {
        purpose: 'logging-config',
        vendorId: this.opener.vendorId,
        tenantId: this.tenantId,
        subjectId: String(this.meta.id),
        subjectVersion: this.meta.version,
      };
      const payload = JSON.parse(
        Buffer.from(open(this.meta.sealed, this.opener.privateKey, context)).toString('utf8'),
      ) as unknown;
      this.configValue = loggingConfigSchema.parse(payload);
    } catch (error) {
      this.failed = true;
      this.logger.error(
        {
          tenantId: this.tenantId,
          loggingConfigId: this.meta.id,
          reason: error instanceof Error ? error.message.slice(0, 200) : 'cannot open',
        },
        'cannot open sealed logging config; events go to stdout',
      );
    }
    return this.configValue;
  }
}

export interface TenantEntry {
  tenantId: string;
  configs: Map<number, KmsConfigEntry>;
  primary: KmsConfigEntry | undefined;
  /** Configs that can unwrap (primary or active). */
  activeCount: number;
  logging: LoggingConfigEntry | undefined;
}

export interface ApplyResult {
  /** Configs that disappeared, were disabled or changed: their leases must be dropped. */
  droppedConfigIds: number[];
}

/** The tenants of the current snapshot, in memory only. */
export class TenantStore {
  private tenants = new Map<string, TenantEntry>();
  version = 0;
  loaded = false;

  constructor(
    private readonly opener: SealOpener,
    private readonly registry: KmsAdapterRegistry,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.tenants.size;
  }

  get(tenantId: string): TenantEntry | undefined {
    return this.tenants.get(tenantId);
  }

  /** Replaces the snapshot, keeping the opened state of configs that did not change. */
  apply(snapshot: Snapshot): ApplyResult {
    const next = new Map<string, TenantEntry>();
    const kept = new Set<number>();
    const previousIds = new Set<number>();
    for (const tenant of this.tenants.values())
      for (const [id, entry] of tenant.configs) if (!entry.disabled) previousIds.add(id);
    for (const tenant of snapshot.tenants) {
      const previous = this.tenants.get(tenant.tenantId);
      const configs = new Map<number, KmsConfigEntry>();
      let primary: KmsConfigEntry | undefined;
      let activeCount = 0;
      for (const meta of tenant.kmsConfigs) {
        const old = previous?.configs.get(meta.id);
        const entry =
          old && old.sameAs(meta)
            ? old
            : new KmsConfigEntry(tenant.tenantId, meta, this.opener, this.registry, this.logger);
        if (entry === old && !entry.disabled) kept.add(meta.id);
        configs.set(meta.id, entry);
        if (meta.status === 'primary' && meta.sealed !== null) primary ??= entry;
        if (meta.status !== 'disabled') activeCount++;
      }
      const loggingMeta = tenant.loggingConfig ?? undefined;
      const logging = loggingMeta
        ? previous?.logging?.sameAs(loggingMeta)
          ? previous.logging
          : new LoggingConfigEntry(tenant.tenantId, loggingMeta, this.opener, this.logger)
        : undefined;
      next.set(tenant.tenantId, { tenantId: tenant.tenantId, configs, primary, activeCount, logging });
    }
    this.tenants = next;
    this.version = snapshot.version;
    this.loaded = true;
    return { droppedConfigIds: [...previousIds].filter((id) => !kept.has(id)) };
  }

  /** Revocation: forget every config (and with it every opened credential). */
  clear(): number[] {
    const ids: number[] = [];
    for (const tenant of this.tenants.values()) ids.push(...tenant.configs.keys());
    this.tenants = new Map();
    this.version = 0;
    this.loaded = false;
    return ids;
  }

  /** Tenant lookup with the protocol's errors: unknown tenant, or no active config, is 201. */
  requireTenant(tenantId: string): TenantEntry {
    const tenant = this.tenants.get(tenantId);
    if (!tenant || tenant.activeCount === 0) {
      throw new TspError(201, `No configurations available for the provided tenant '${tenantId}'`);
    }
    return tenant;
  }

  requirePrimary(tenantId: string): KmsConfigEntry {
    const tenant = this.requireTenant(tenantId);
    if (!tenant.primary) throw new TspError(200, `Tenant '${tenantId}' has no primary KMS config`);
    return tenant.primary;
  }
}
