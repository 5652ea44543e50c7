import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { generateKeyPair, seal, utf8Encode, base64UrlEncode } from '@opencmk/crypto';

/**
 * A stand-in for the broker's proxy API (docs/contracts.md §3), over real HTTP with real sealed blobs, until the
 * Next.js broker can be started by these tests. Everything the proxy sees of it — version, ETag, 304, long-poll
 * wake-up, 401 after revoke, status and check-result posts — follows the contract. Tests reach it only through
 * the `BrokerHandle` interface (support/broker.ts), so swapping in the real broker is one change there.
 */
export interface KmsConfigSpec {
  id: number;
  provider: 'aws' | 'gcp' | 'azure';
  status: 'primary' | 'active' | 'disabled';
  leasingAllowed: boolean;
  /** The plaintext KMS config (contracts §4); sealed to the proxy on every snapshot change. */
  payload: Record<string, unknown>;
  version?: number;
}

export interface LoggingConfigSpec {
  id: number;
  provider: 'splunk' | 'gcp-logging' | 'webhook';
  payload: Record<string, unknown>;
  version?: number;
}

export interface TenantSpec {
  tenantId: string;
  kmsConfigs: KmsConfigSpec[];
  loggingConfig?: LoggingConfigSpec | null;
}

interface SnapshotKmsConfig {
  id: number;
  provider: string;
  status: string;
  leasingAllowed: boolean;
  version: number;
  sealed: string | null;
}

export interface BrokerHandle {
  url: string;
  /** The proxy's environment (contracts §2) for this broker's proxy configuration. */
  proxyEnv: Record<string, string>;
  version: number;
  setTenant(tenant: TenantSpec): void;
  /**
   * Adds `count` tenants `${prefix}0…` with one KMS config each in one snapshot change. Sealing costs ~2 ms per
   * blob, so only the first `sealedCount` get their own blob; the others carry a copy of a real blob of the same
   * size (it would fail to open for them, which only matters if a test used those tenants — none does).
   */
  addBulkTenants(prefix: string, count: number, config: Omit<KmsConfigSpec, 'id'>, sealedCount: number): void;
  setStatus(tenantId: string, configId: number, status: KmsConfigSpec['status']): void;
  removeTenant(tenantId: string): void;
  queueCheck(tenantId: string, configId: number, kind?: 'kms' | 'logging'): string;
  checkResults: unknown[];
  statusPosts: unknown[];
  snapshotRequests: number;
  revoke(): void;
  /** Stops answering (connections refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestBroker(options: { apiKey?: string } = {}): Promise<BrokerHandle> {
  const keyPair = generateKeyPair();
  const vendorId = randomUUID();
  const proxyConfigId = randomUUID();
  const token = `ocmk_bt_${base64UrlEncode(randomBytes(32))}`;
  const apiKey = options.apiKey ?? `ocmk_ak_${base64UrlEncode(randomBytes(24))}`;
  const tenants = new Map<string, { spec: TenantSpec; sealed: Map<number, SnapshotKmsConfig>; logging: unknown }>();
  const checks: { id: string; kind: string; tenantId: string; configId: number }[] = [];
  let version = 1;
  let revoked = false;
  let waiters: (() => void)[] = [];
  const sockets = new Set<Socket>();

  const sealKms = (tenantId: string, c: KmsConfigSpec): SnapshotKmsConfig => {
    const v = c.version ?? 1;
    return {
      id: c.id,
      provider: c.provider,
      status: c.status,
      leasingAllowed: c.leasingAllowed,
      version: v,
      sealed:
        c.status === 'disabled'
          ? null
          : seal(utf8Encode(JSON.stringify(c.payload)), keyPair.publicKey, {
              purpose: 'kms-config',
              vendorId,
              tenantId,
              subjectId: String(c.id),
              subjectVersion: v,
            }),
    };
  };
  const sealLogging = (tenantId: string, l: LoggingConfigSpec | null | undefined) =>
    l
      ? {
          id: l.id,
          provider: l.provider,
          version: l.version ?? 1,
          sealed: seal(utf8Encode(JSON.stringify(l.payload)), keyPair.publicKey, {
            purpose: 'logging-config',
            vendorId,
            tenantId,
            subjectId: String(l.id),
            subjectVersion: l.version ?? 1,
          }),
        }
      : null;

  const changed = () => {
    version++;
    for (const wake of waiters.splice(0)) wake();
  };

  const snapshot = () => ({
    version,
    proxyConfigId,
    vendorId,
    settings: { requireLeasing: false, requireLogging: false },
    tenants: [...tenants.values()].map((t) => ({
      tenantId: t.spec.tenantId,
      kmsConfigs: [...t.sealed.values()],
      loggingConfig: t.logging,
    })),
    checks,
  });

  const handle: BrokerHandle = {
    url: '',
    proxyEnv: {},
    get version() {
      return version;
    },
    setTenant(spec) {
      tenants.set(spec.tenantId, {
        spec,
        sealed: new Map(spec.kmsConfigs.map((c) => [c.id, sealKms(spec.tenantId, c)])),
        logging: sealLogging(spec.tenantId, spec.loggingConfig),
      });
      changed();
    },
    addBulkTenants(prefix, count, config, sealedCount) {
      let template: SnapshotKmsConfig | undefined;
      for (let i = 0; i < count; i++) {
        const tenantId = `${prefix}${i}`;
        const spec: KmsConfigSpec = { ...config, id: 100_000 + i };
        const sealed = i < sealedCount || !template ? sealKms(tenantId, spec) : { ...template, id: spec.id };
        template ??= sealed;
        tenants.set(tenantId, {
          spec: { tenantId, kmsConfigs: [spec] },
          sealed: new Map([[spec.id, sealed]]),
          logging: null,
        });
      }
      changed();
    },
    setStatus(tenantId, configId, status) {
      const tenant = tenants.get(tenantId);
      const spec = tenant?.spec.kmsConfigs.find((c) => c.id === configId);
      if (!tenant || !spec) throw new Error(`no config ${configId} for ${tenantId}`);
      spec.status = status;
      spec.version = (spec.version ?? 1) + 1;
      tenant.sealed.set(configId, sealKms(tenantId, spec));
      changed();
    },
    removeTenant(tenantId) {
      tenants.delete(tenantId);
      changed();
    },
    queueCheck(tenantId, configId, kind = 'kms') {
      const id = randomUUID();
      checks.push({ id, kind, tenantId, configId });
      changed();
      return id;
    },
    checkResults: [],
    statusPosts: [],
    snapshotRequests: 0,
    revoke() {
      revoked = true;
      for (const wake of waiters.splice(0)) wake();
    },
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      for (const wake of waiters.splice(0)) wake();
    },
    async up() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    },
    async close() {
      for (const wake of waiters.splice(0)) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
    res.end(text);
  };
  const readJson = (req: IncomingMessage) =>
    new Promise<unknown>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (revoked || req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: 'unauthorized' });
      if (req.method === 'GET' && url.pathname === '/api/proxy/v1/snapshot') {
        handle.snapshotRequests++;
        const wait = Math.min(30, Number(url.searchParams.get('wait') ?? 0) || 0);
        if (wait > 0 && req.headers['if-none-match'] === `"${version}"`) {
          const before = version;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait * 1000);
            waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
          if (res.destroyed) return;
          if (revoked) return send(res, 401, { error: 'unauthorized' });
          if (version === before) return send(res, 304, undefined, { etag: `"${version}"` });
        }
        return send(res, 200, snapshot(), { etag: `"${version}"` });
      }
      if (req.method === 'POST' && url.pathname === '/api/proxy/v1/status') {
        handle.statusPosts.push(await readJson(req));
        return send(res, 204);
      }
      if (req.method === 'POST' && url.pathname === '/api/proxy/v1/check-results') {
        const body = (await readJson(req)) as { results: { checkId: string }[] };
        handle.checkResults.push(...body.results);
        // A check leaves the queue once answered, as the broker does.
        for (const result of body.results) {
          const index = checks.findIndex((c) => c.id === result.checkId);
          if (index !== -1) checks.splice(index, 1);
        }
        return send(res, 204);
      }
      return send(res, 404, { error: 'not found' });
    })().catch(() => send(res, 400, { error: 'bad request' }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  handle.url = `http://127.0.0.1:${port}`;
  handle.proxyEnv = {
    OPENCMK_BROKER_URL: handle.url,
    OPENCMK_PROXY_CONFIG_ID: proxyConfigId,
    OPENCMK_VENDOR_ID: vendorId,
    OPENCMK_PROXY_PRIVATE_KEY: base64UrlEncode(keyPair.privateKey),
    OPENCMK_BROKER_TOKEN: token,
    API_KEY: apiKey,
    API_KEY_2: '',
    PORT: '0',
    HEALTH_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SNAPSHOT_WAIT_SECONDS: '2',
    SNAPSHOT_REFRESH_SECONDS: '300',
    KMS_TIMEOUT_MS: '1500',
  };
  return handle;
}
