import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort, repoRoot, spawnManaged, type ManagedProcess } from '../../helpers/processes';

export { freePort, repoRoot, spawnManaged, type ManagedProcess };

export interface StackJson {
  ready: boolean;
  brokerUrl: string;
  proxyUrl: string;
  proxyHealthUrl: string;
  apiKey: string;
  tenants: { aws: string; gcp: string; azure: string };
}

export interface DemoJson {
  vendorId: string;
  vendorAdminEmail: string;
  vendorPassphrase: string;
  proxyConfigId: string;
  apiKey: string;
  tenants: Record<
    'aws' | 'gcp' | 'azure',
    { tenantId: string; orgId: string; adminEmail: string; kmsConfigId: number; loggingConfigId: number }
  >;
}

export interface WorldJson {
  ports: { aws: number; gcpHttp: number; gcpHttps: number; azure: number; sinksHttp: number; sinksHttps: number };
  azure: { clientId: string };
}

export interface RunningStack {
  process: ManagedProcess;
  dataDir: string;
  demoDir: string;
  stack: StackJson;
  demo: DemoJson;
  world: WorldJson;
  caFile: string;
  /** `POST <emulator>/__emulator/<method>` (the emulators' admin API, what a test does "in the tenant's cloud"). */
  emulator(which: 'aws' | 'azure' | 'sinks', method: string, body: unknown): Promise<unknown>;
  stop(): Promise<void>;
  /** Ctrl-C for the stack, leaving .data/ and .demo/ for the next start. */
  stopKeepingFiles(): Promise<void>;
}

/** `npm start` as a user runs it (`node scripts/start.mjs --stack`), on free ports with fresh data and demo dirs. */
export interface StackPlace {
  dataDir: string;
  demoDir: string;
  ports: { broker: number; proxy: number; health: number };
}

/** With `again`, a second `npm start` on the same data and demo directories and ports (a user's next day). */
export async function startWholeStack(
  timeoutMs: number,
  again?: StackPlace,
): Promise<RunningStack & { place: StackPlace; startMs: number }> {
  const began = performance.now();
  const dataDir = again?.dataDir ?? mkdtempSync(path.join(tmpdir(), 'opencmk-system-data-'));
  const demoDir = again?.demoDir ?? mkdtempSync(path.join(tmpdir(), 'opencmk-system-demo-'));
  const [brokerPort, proxyPort, healthPort] = again
    ? [again.ports.broker, again.ports.proxy, again.ports.health]
    : [await freePort(), await freePort(), await freePort()];
  // The stack under test uses its own embedded database and the outbox, whatever the calling shell has set.
  const {
    DATABASE_URL: _database,
    SMTP_URL: _smtp,
    NODE_ENV: _mode,
    BROKER_URL: _broker,
    PORT: _port,
    ...inherited
  } = process.env;
  const managed = spawnManaged(
    process.execPath,
    [path.join(repoRoot, 'scripts', 'start.mjs'), '--stack'],
    {
      ...inherited,
      PORT: String(brokerPort),
      HOST: '127.0.0.1',
      PROXY_PORT: String(proxyPort),
      PROXY_HEALTH_PORT: String(healthPort),
      EMULATOR_PORT_BASE: '0',
      DATA_DIR: dataDir,
      DEMO_DIR: demoDir,
      NEXT_TELEMETRY_DISABLED: '1',
    },
    // The stack stops its own children on SIGTERM (graceful proxy, Next.js): give it time before SIGKILL.
    { killAfterMs: 25_000 },
  );
  let keepFiles = false;
  const cleanup = async () => {
    await managed.stop();
    if (keepFiles) return;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(demoDir, { recursive: true, force: true });
  };
  const stackFile = path.join(demoDir, 'stack.json');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(stackFile)) {
    if (managed.child.exitCode !== null || Date.now() > deadline) {
      const output = managed.output();
      await cleanup();
      throw new Error(
        `the stack did not write stack.json (${managed.child.exitCode === null ? 'timeout' : `exit ${managed.child.exitCode}`}):\n${output.slice(-6000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const caFile = path.join(demoDir, 'emulator-ca.pem');
  const world = JSON.parse(readFileSync(path.join(demoDir, 'emulated-world.json'), 'utf8')) as WorldJson;
  const agent = new Agent({ ca: readFileSync(caFile, 'utf8') });
  const emulator = async (which: 'aws' | 'azure' | 'sinks', method: string, body: unknown) => {
    if (which === 'azure') {
      // The vault is HTTPS only, under the emulators' own CA.
      return new Promise<unknown>((resolve, reject) => {
        const request = httpsRequest(
          {
            host: '127.0.0.1',
            port: world.ports.azure,
            path: `/__emulator/${method}`,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () =>
              response.statusCode! < 300
                ? resolve(text ? JSON.parse(text) : null)
                : reject(new Error(`${method}: ${response.statusCode} ${text}`)),
            );
          },
        );
        request.on('error', reject);
        request.end(JSON.stringify(body));
      });
    }
    const port = which === 'aws' ? world.ports.aws : world.ports.sinksHttp;
    const response = await fetch(`http://127.0.0.1:${port}/__emulator/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const startMs = performance.now() - began;
  return {
    place: { dataDir, demoDir, ports: { broker: brokerPort, proxy: proxyPort, health: healthPort } },
    startMs,
    process: managed,
    dataDir,
    demoDir,
    stack: JSON.parse(readFileSync(stackFile, 'utf8')) as StackJson,
    demo: JSON.parse(readFileSync(path.join(demoDir, 'demo.json'), 'utf8')) as DemoJson,
    world,
    caFile,
    emulator,
    stop: async () => {
      agent.destroy();
      await cleanup();
    },
    stopKeepingFiles: async () => {
      agent.destroy();
      keepFiles = true;
      await cleanup();
    },
  };
}

/** Polls until `check` holds; returns the elapsed milliseconds (the measurement the flows print). */
export async function millisUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 20,
  lastSeen?: () => unknown,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs)
      throw new Error(`not within ${timeoutMs} ms${lastSeen ? ` (last seen: ${JSON.stringify(lastSeen())})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
