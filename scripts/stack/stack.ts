/**
 * The whole OpenCMK stack on one machine (`npm start`): the KMS and log-sink emulators in this process, the broker
 * (`next start`, production build) and one Tenant Security Proxy started from its `.env`, with demo data created on
 * the first run. State lives in DATA_DIR (the broker's database) and DEMO_DIR (the emulated world, the demo
 * credentials, the proxy `.env`), so a second run reuses both and starts in seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadOrCreateWorldSecrets, startEmulatedWorld, type DemoWorld, type EmulatorPorts } from './emulated-world';
import type { SeededDemo } from './seed-demo';

export const repoRoot = path.resolve(__dirname, '..', '..');

export interface StackOptions {
  brokerPort: number;
  /** Bind address of the broker; the proxy and the emulators stay on loopback. */
  brokerHost: string;
  proxyPort: number;
  proxyHealthPort: number;
  /** Used on the first run only: later runs reuse the ports the sealed configs name. */
  emulatorPorts: EmulatorPorts;
  dataDir: string;
  demoDir: string;
  databaseUrl?: string;
  authSecret?: string;
  /** Where the children's output goes: inherit (a terminal) or a callback (tests). */
  output: 'inherit' | ((line: string) => void);
  log: (line: string) => void;
  /** How long to wait for the proxy's first snapshot before giving up. */
  proxyReadyTimeoutMs?: number;
  /** Aborting (Ctrl-C during start-up) stops whatever has started so far. */
  signal?: AbortSignal;
}

/** What `.demo/stack.json` holds (issue 8): written once the proxy reports ready. */
export interface StackJson {
  ready: true;
  brokerUrl: string;
  proxyUrl: string;
  proxyHealthUrl: string;
  apiKey: string;
  tenants: { aws: string; gcp: string; azure: string };
}

/** The demo's private details (`.demo/demo.json`, 0600): credentials and ids the README and the tests use. */
const demoFileSchema = z.object({
  format: z.literal(1),
  vendorId: z.string(),
  vendorAdminEmail: z.string(),
  vendorPassphrase: z.string(),
  proxyConfigId: z.string(),
  apiKey: z.string(),
  tenants: z.record(
    z.enum(['aws', 'gcp', 'azure']),
    z.object({
      tenantId: z.string(),
      orgId: z.string(),
      adminEmail: z.string(),
      kmsConfigId: z.number(),
      loggingConfigId: z.number(),
    }),
  ),
});
export type DemoFile = z.infer<typeof demoFileSchema>;

export interface RunningStack {
  brokerUrl: string;
  proxyUrl: string;
  proxyHealthUrl: string;
  world: DemoWorld;
  demo: DemoFile;
  stackJson: StackJson;
  /** Resolves when any child exits on its own (then the stack is incomplete). */
  exited: Promise<{ name: string; code: number | null }>;
  stop(): Promise<void>;
}

const nextBin = path.join(repoRoot, 'node_modules', 'next', 'dist', 'bin', 'next');
const proxyMain = path.join(repoRoot, 'services', 'tenant-security-proxy', 'dist', 'main.js');

function writePrivate(file: string, text: string): void {
  // Written beside and renamed: a reader never sees half a file, and the mode is right from the first byte.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** AUTH_SECRET for the local stack, kept in DATA_DIR where lib/server/auth-secret.ts and scripts/start.mjs look. */
function localAuthSecret(dataDir: string): string {
  const file = path.resolve(dataDir, 'auth-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

interface Child {
  name: string;
  process: ChildProcess;
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, options: StackOptions): Child {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env,
    // Same process group as the orchestrator: a Ctrl-C in the terminal, or a kill of the group, reaches every part
    // even if the orchestrator itself is gone; stop() below also signals each child.
    stdio: options.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  if (options.output !== 'inherit') {
    const sink = options.output;
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) sink(`[${name}] ${line}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  }
  return { name, process: child };
}

function stopChild(child: Child, graceMs = 8000): Promise<void> {
  const { process: proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    const signal = (name: NodeJS.Signals) => {
      try {
        proc.kill(name);
      } catch {
        // gone already
      }
    };
    signal('SIGTERM');
    setTimeout(() => signal('SIGKILL'), graceMs).unref();
  });
}

/** A start-up failure with its own explanation (not a transient "not yet"). */
class StackError extends Error {}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: Child,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error(`stopped before ${what}`);
    if (child.process.exitCode !== null || child.process.signalCode !== null)
      throw new Error(`${child.name} exited (${child.process.exitCode ?? child.process.signalCode}) before ${what}`);
    if (
      await check().catch((error: unknown) => {
        if (error instanceof StackError) throw error;
        return false;
      })
    ) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s`);
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  return response.ok;
}

/** `node scripts/start.mjs --build-only`: the broker's production build when .next is missing or stale. */
function buildBrokerIfStale(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs'), '--build-only'], {
      cwd: repoRoot,
      env: { ...env, NODE_ENV: 'production' },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the broker build failed (exit ${code})`))));
  });
}

async function seedOnce(options: StackOptions, world: DemoWorld, brokerEnv: NodeJS.ProcessEnv): Promise<DemoFile> {
  const demoFile = path.join(options.demoDir, 'demo.json');
  const envFile = path.join(options.demoDir, 'proxy.env');
  if (existsSync(demoFile) && existsSync(envFile)) {
    const parsed = demoFileSchema.safeParse(JSON.parse(readFileSync(demoFile, 'utf8')));
    if (!parsed.success)
      throw new Error(`${demoFile} is damaged: remove ${options.demoDir} and ${options.dataDir} to start over`);
    return parsed.data;
  }
  options.log('first run: creating the demo vendor, tenants, configs and proxy configuration');
  // lib/env.ts reads these when the broker code first asks; the seed runs in this process with the broker stopped.
  for (const name of ['DATA_DIR', 'DATABASE_URL', 'BROKER_URL', 'AUTH_SECRET', 'OPENCMK_DEMO'] as const) {
    if (brokerEnv[name] === undefined) delete process.env[name];
    else process.env[name] = brokerEnv[name];
  }
  const [{ openDatabase }, { seedDemo }] = await Promise.all([import('@/db/client'), import('./seed-demo')]);
  const handle = await openDatabase({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    migrationsFolder: path.join(repoRoot, 'db', 'migrations'),
  });
  let seeded: SeededDemo;
  try {
    seeded = await seedDemo(handle.db, world, brokerEnv.BROKER_URL!, (line) => options.log(`  ${line}`));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/vendor organization already exists/i.test(message)) {
      throw new Error(
        `${options.dataDir} already holds a vendor that the demo did not create (no ${demoFile}): remove ${options.dataDir} or set DATA_DIR`,
      );
    }
    throw error;
  } finally {
    await handle.close();
  }
  writePrivate(envFile, seeded.proxyEnv);
  const { proxyEnv: _secretFile, ...details } = seeded;
  const demo: DemoFile = { format: 1, ...details };
  writePrivate(demoFile, `${JSON.stringify(demo, null, 2)}\n`);
  return demo;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  mkdirSync(options.demoDir, { recursive: true, mode: 0o700 });
  rmSync(path.join(options.demoDir, 'stack.json'), { force: true });
  const { secrets, created } = loadOrCreateWorldSecrets(
    path.join(options.demoDir, 'emulated-world.json'),
    options.emulatorPorts,
  );
  if (
    !created &&
    JSON.stringify(secrets.ports) !== JSON.stringify(options.emulatorPorts) &&
    Object.values(options.emulatorPorts).some((port) => port !== 0)
  ) {
    options.log(
      `emulator ports kept from the first run (the demo configs name them): ${JSON.stringify(secrets.ports)}`,
    );
  }
  const { emulators, world } = await startEmulatedWorld(secrets, {
    caFile: path.join(options.demoDir, 'emulator-ca.pem'),
  });
  if (created) {
    // Port 0 means "any": keep what the OS gave, since the tenant configs about to be sealed name these URLs.
    const bound = {
      aws: Number(new URL(emulators.aws.url).port),
      gcpHttp: Number(new URL(emulators.gcp.httpUrl).port),
      gcpHttps: Number(new URL(emulators.gcp.httpsUrl).port),
      azure: Number(new URL(emulators.azure.url).port),
      sinksHttp: Number(new URL(emulators.sinks.httpUrl).port),
      sinksHttps: Number(new URL(emulators.sinks.httpsUrl).port),
    };
    writePrivate(
      path.join(options.demoDir, 'emulated-world.json'),
      `${JSON.stringify({ ...secrets, ports: bound }, null, 2)}\n`,
    );
  }
  const children: Child[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      rmSync(path.join(options.demoDir, 'stack.json'), { force: true });
      await Promise.all(children.map((child) => stopChild(child)));
      await emulators.close();
    })());
  options.signal?.addEventListener('abort', () => void stop(), { once: true });
  try {
    // The stack talks to the broker over loopback; people and sign-in links use BROKER_URL (Next.js rewrites
    // loopback IPs to "localhost", so the broker insists on that name: lib/env.ts).
    const brokerUrl = `http://127.0.0.1:${options.brokerPort}`;
    const publicBrokerUrl = process.env.BROKER_URL || `http://localhost:${options.brokerPort}`;
    const brokerEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(options.brokerPort),
      DATA_DIR: options.dataDir,
      BROKER_URL: publicBrokerUrl,
      AUTH_SECRET: options.authSecret || localAuthSecret(options.dataDir),
      // The local stack is the demo: sign-in links go to /dev/outbox unless SMTP is configured.
      OPENCMK_DEMO: process.env.SMTP_URL ? (process.env.OPENCMK_DEMO ?? '0') : '1',
      NEXT_TELEMETRY_DISABLED: '1',
    };
    if (options.databaseUrl) brokerEnv.DATABASE_URL = options.databaseUrl;
    else delete brokerEnv.DATABASE_URL;

    await buildBrokerIfStale(brokerEnv);
    if (options.signal?.aborted) throw new Error('stopped');
    const demo = await seedOnce(options, world, brokerEnv);

    options.log(`starting the broker on ${publicBrokerUrl}`);
    const broker = startChild(
      'broker',
      [nextBin, 'start', '-p', String(options.brokerPort), '-H', options.brokerHost],
      brokerEnv,
      options,
    );
    children.push(broker);
    await waitFor('broker health', () => httpOk(`${brokerUrl}/api/health`), broker, 120_000, options.signal);

    // Only what the proxy needs: the parent's PORT (the broker's) must not leak in, and the process environment
    // wins over the .env, which is how ports chosen for this run override the ones written on the first.
    const proxyEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      OPENCMK_BROKER_URL: brokerUrl,
      PORT: String(options.proxyPort),
      HEALTH_PORT: String(options.proxyHealthPort),
      HOST: '127.0.0.1',
      KMS_EXTRA_CA_FILE: world.caFile,
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
    };
    options.log(`starting the proxy on http://127.0.0.1:${options.proxyPort}`);
    const proxy = startChild(
      'proxy',
      [proxyMain, '--env-file', path.join(options.demoDir, 'proxy.env')],
      proxyEnv,
      options,
    );
    children.push(proxy);
    const proxyUrl = `http://127.0.0.1:${options.proxyPort}`;
    const proxyHealthUrl = `http://127.0.0.1:${options.proxyHealthPort}`;
    await waitFor(
      'proxy ready (first snapshot from the broker)',
      async () => {
        if (await httpOk(`${proxyHealthUrl}/ready`)) return true;
        const health = (await (
          await fetch(`${proxyHealthUrl}/health`, { signal: AbortSignal.timeout(2000) })
        ).json()) as { revoked?: boolean };
        if (health.revoked) {
          throw new StackError(
            `the demo's proxy configuration was revoked in the broker, so its proxy can never be ready: start over (remove ${options.demoDir} and ${options.dataDir}) or run a proxy from the .env of a new configuration`,
          );
        }
        return false;
      },
      proxy,
      options.proxyReadyTimeoutMs ?? 60_000,
      options.signal,
    );

    const stackJson: StackJson = {
      ready: true,
      brokerUrl: brokerEnv.BROKER_URL!,
      proxyUrl,
      proxyHealthUrl,
      apiKey: demo.apiKey,
      tenants: {
        aws: demo.tenants.aws!.tenantId,
        gcp: demo.tenants.gcp!.tenantId,
        azure: demo.tenants.azure!.tenantId,
      },
    };
    writePrivate(path.join(options.demoDir, 'stack.json'), `${JSON.stringify(stackJson, null, 2)}\n`);
    const exited = new Promise<{ name: string; code: number | null }>((resolve) => {
      for (const child of children) child.process.once('exit', (code) => resolve({ name: child.name, code }));
    });
    return { brokerUrl: stackJson.brokerUrl, proxyUrl, proxyHealthUrl, world, demo, stackJson, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first screen after `npm start`: what runs, how to sign in, what to try. */
export function describeStack(stack: RunningStack, demoDir: string): string {
  const { demo, world } = stack;
  const relative = path.relative(process.cwd(), demoDir) || demoDir;
  const tenants = (['aws', 'gcp', 'azure'] as const).map((provider) => demo.tenants[provider]!);
  return [
    '',
    'OpenCMK is running',
    `  Configuration Broker   ${stack.brokerUrl}`,
    `  Tenant Security Proxy  ${stack.proxyUrl}   (health: ${stack.proxyHealthUrl}/health, metrics: ${stack.proxyHealthUrl}/metrics)`,
    `  KMS emulators          AWS ${world.aws.endpoint}   Google ${world.gcp.endpoint}   Azure ${world.azure.vaultUrl}`,
    `  Log sinks (emulated)   Splunk HEC ${world.splunk.url}   webhook ${world.webhook.url}`,
    `                         every event received: curl -s -XPOST ${world.admin.sinks}/events`,
    '',
    'Sign in (no e-mail is sent: links appear in the dev outbox)',
    `  1. open ${stack.brokerUrl}/sign-in and enter one of the addresses below`,
    `  2. open ${stack.brokerUrl}/dev/outbox and follow the newest link`,
    `  vendor "Acme SaaS"      ${demo.vendorAdminEmail}   (encryption passphrase for key work: ${demo.vendorPassphrase})`,
    ...tenants.map((tenant) => `  tenant ${tenant.tenantId.padEnd(13)}   ${tenant.adminEmail}`),
    '',
    'Encrypt and decrypt through the proxy (API key and URLs in .demo/stack.json)',
    `  node --input-type=module -e "`,
    `    import { readFileSync } from 'node:fs';`,
    `    import { TenantSecurityClient, DocumentMetadata } from '@opencmk/tenant-security-client';`,
    `    const stack = JSON.parse(readFileSync('${relative}/stack.json', 'utf8'));`,
    `    const client = new TenantSecurityClient(stack.proxyUrl, stack.apiKey);`,
    `    const metadata = new DocumentMetadata(stack.tenants.aws, 'demo-user', 'PII');`,
    `    const { encryptedDocument, edek } = await client.encryptDocument({ ssn: Buffer.from('123-45-6789') }, metadata);`,
    `    const { plaintextDocument } = await client.decryptDocument({ encryptedDocument, edek }, metadata);`,
    `    console.log(plaintextDocument.ssn.toString());"`,
    '',
    'Try the kill switch: sign in as a tenant admin, disable its KMS config, and the same call fails with code 202',
    'within seconds; enable it again and it works. Ctrl-C stops everything; the next `npm start` reuses .data/ and .demo/.',
    '',
  ].join('\n');
}
