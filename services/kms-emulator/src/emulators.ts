/**
 * `startEmulators()`: every emulator on 127.0.0.1 (ephemeral ports unless told otherwise), one test CA for all
 * HTTPS listeners, and optionally the demo world the demo stack and the proxy's tests use.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AwsEmulator } from './aws/aws-emulator.js';
import { AzureVaultEmulator } from './azure/azure-emulator.js';
import { EntraDirectory } from './azure/entra.js';
import { GcpEmulator } from './gcp/gcp-emulator.js';
import { GcpIdentity } from './gcp/gcp-identity.js';
import { SinkEmulator } from './sinks/sink-emulator.js';
import { createCertificateAuthority } from './tls/certificates.js';
import { randomUuid } from './core/util.js';
import { seedDemoWorld, type DemoWorld } from './seed.js';

export interface StartEmulatorsOptions {
  /** Bind address; tests and the demo use the default 127.0.0.1. */
  host?: string;
  /** `'demo'` registers the default world (see README); `'none'` (default) starts empty. */
  seed?: 'demo' | 'none';
  /** Where to write the CA PEM. Default: a fresh temp directory removed by close(). A given file is left in place. */
  caFile?: string;
  /** Fixed ports (CLI only; tests must keep the default 0 = ephemeral). */
  ports?: {
    aws?: number;
    gcpHttp?: number;
    gcpHttps?: number;
    azure?: number;
    sinksHttp?: number;
    sinksHttps?: number;
  };
  /** Default AWS region (the signing region clients must use for keys created without a region). */
  awsRegion?: string;
  /** The default vault's Entra tenant id and name. */
  azure?: { tenantId?: string; vaultName?: string };
}

export interface EmulatorsDescription {
  ca: { path: string; pem: string };
  aws: { endpoint: string; region: string; admin: string };
  gcp: {
    httpEndpoint: string;
    httpsEndpoint: string;
    apiEndpoint: string;
    httpPort: number;
    httpsPort: number;
    tokenUrl: string;
    admin: string;
  };
  azure: { vaults: { vaultName: string; vaultUrl: string; authorityHost: string; tenantId: string; admin: string }[] };
  sinks: { httpUrl: string; httpsUrl: string; splunkUrl: string; gcpLoggingEndpoint: string; admin: string };
  /** Present when started with `seed: 'demo'`. Contains secrets: test credentials only. */
  demo?: DemoWorld;
}

export interface Emulators {
  ca: { pem: string; path: string };
  aws: AwsEmulator;
  gcp: GcpEmulator;
  /** The default vault (tenant `azure.tenantId`); more with addAzureVault(). */
  azure: AzureVaultEmulator;
  azureVaults: AzureVaultEmulator[];
  entra: EntraDirectory;
  sinks: SinkEmulator;
  /** The seeded world when started with `seed: 'demo'`. */
  demo?: DemoWorld;
  addAzureVault(options?: { vaultName?: string; tenantId?: string; port?: number }): Promise<AzureVaultEmulator>;
  /** Clears faults and request logs of every emulator (state such as keys is kept). */
  resetFaults(): void;
  describe(): EmulatorsDescription;
  close(): Promise<void>;
}

export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<Emulators> {
  const host = options.host ?? '127.0.0.1';
  const ports = options.ports ?? {};
  const authority = createCertificateAuthority();
  const hosts =
    host === '127.0.0.1' || host === 'localhost' ? ['127.0.0.1', 'localhost', '::1'] : [host, '127.0.0.1', 'localhost'];
  const serverCertificate = authority.issueServerCertificate(hosts);
  const tls = { key: serverCertificate.keyPem, cert: serverCertificate.certPem };

  let tempDir: string | undefined;
  let caPath: string;
  if (options.caFile) {
    caPath = options.caFile;
    await mkdir(dirname(caPath), { recursive: true });
  } else {
    tempDir = await mkdtemp(join(tmpdir(), 'opencmk-emulators-'));
    caPath = join(tempDir, 'ca.pem');
  }
  await writeFile(caPath, authority.certPem, { mode: 0o644 });

  const started: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    await Promise.all(started.map((emulator) => emulator.close()));
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
  try {
    const gcpIdentity = new GcpIdentity();
    const entra = new EntraDirectory();
    const aws = await AwsEmulator.start({ host, port: ports.aws, region: options.awsRegion });
    started.push(aws);
    const gcp = await GcpEmulator.start({
      host,
      httpPort: ports.gcpHttp,
      httpsPort: ports.gcpHttps,
      tls,
      identity: gcpIdentity,
    });
    started.push(gcp);
    const sinks = await SinkEmulator.start({
      host,
      httpPort: ports.sinksHttp,
      httpsPort: ports.sinksHttps,
      tls,
      gcpIdentity,
    });
    started.push(sinks);
    const azureVaults: AzureVaultEmulator[] = [];
    const addAzureVault = async (vault: { vaultName?: string; tenantId?: string; port?: number } = {}) => {
      const emulator = await AzureVaultEmulator.start({
        host,
        port: vault.port,
        tls,
        directory: entra,
        tenantId: vault.tenantId ?? randomUuid(),
        vaultName: vault.vaultName ?? `vault-${azureVaults.length + 1}`,
      });
      started.push(emulator);
      azureVaults.push(emulator);
      return emulator;
    };
    const azure = await addAzureVault({
      ...options.azure,
      port: ports.azure,
      vaultName: options.azure?.vaultName ?? 'opencmk-demo-vault',
    });

    const emulators: Emulators = {
      ca: { pem: authority.certPem, path: caPath },
      aws,
      gcp,
      azure,
      azureVaults,
      entra,
      sinks,
      addAzureVault,
      resetFaults() {
        for (const emulator of [aws, gcp, sinks, ...azureVaults]) {
          emulator.faults.clear();
          emulator.log.clear();
        }
      },
      describe() {
        const gcpHttp = new URL(gcp.httpUrl);
        return {
          ca: { path: caPath, pem: authority.certPem },
          aws: { endpoint: aws.url, region: aws.defaultRegion, admin: `${aws.url}/__emulator/` },
          gcp: {
            httpEndpoint: gcp.httpUrl,
            httpsEndpoint: gcp.httpsUrl,
            apiEndpoint: gcpHttp.hostname,
            httpPort: Number(gcpHttp.port),
            httpsPort: Number(new URL(gcp.httpsUrl).port),
            tokenUrl: gcp.tokenUrl,
            admin: `${gcp.httpUrl}/__emulator/`,
          },
          azure: {
            vaults: azureVaults.map((vault) => ({
              vaultName: vault.vaultName,
              vaultUrl: vault.vaultUrl,
              authorityHost: vault.authorityHost,
              tenantId: vault.tenantId,
              admin: `${vault.url}/__emulator/`,
            })),
          },
          sinks: {
            httpUrl: sinks.httpUrl,
            httpsUrl: sinks.httpsUrl,
            splunkUrl: sinks.splunkUrl,
            gcpLoggingEndpoint: sinks.gcpLoggingEndpoint,
            admin: `${sinks.httpUrl}/__emulator/`,
          },
          ...(emulators.demo ? { demo: emulators.demo } : {}),
        };
      },
      close: closeAll,
    };
    if (options.seed === 'demo') emulators.demo = seedDemoWorld(emulators);
    return emulators;
  } catch (error) {
    await closeAll();
    throw error;
  }
}
