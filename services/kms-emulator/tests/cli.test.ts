import './helpers.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { EmulatorsDescription } from '../src/index.js';
import { request } from './helpers.js';

const repoRoot = join(__dirname, '..', '..', '..');
const cli = join(__dirname, '..', 'src', 'cli.ts');

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error(`no JSON line within ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline !== -1) {
        clearTimeout(timer);
        resolve(buffered.slice(0, newline));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code} before printing; stderr: ${stderr}`));
    });
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code)),
  );
}

describe('CLI (npm run emulators)', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exitCode(child);
    }
  });

  test('prints one JSON document with endpoints, CA and demo credentials; serves; exits cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', cli], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const document = JSON.parse(await firstLine(child, 20_000)) as EmulatorsDescription;
    expect(document.aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(document.gcp.httpsEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(document.azure.vaults[0]!.vaultUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(document.ca.pem).toContain('BEGIN CERTIFICATE');
    expect(existsSync(document.ca.path)).toBe(true);
    const demo = document.demo!;

    // One real call through the official SDK with the printed credentials: vendor assumes the tenant role.
    const kms = new KMSClient({
      region: demo.aws.region,
      endpoint: demo.aws.endpoint,
      credentials: fromTemporaryCredentials({
        masterCredentials: {
          accessKeyId: demo.aws.vendor.accessKeyId,
          secretAccessKey: demo.aws.vendor.secretAccessKey,
        },
        params: { RoleArn: demo.aws.role.arn, RoleSessionName: 'cli-test', ExternalId: demo.aws.role.externalId },
        clientConfig: { region: demo.aws.region, endpoint: demo.aws.endpoint },
      }),
    });
    try {
      const encrypted = await kms.send(
        new EncryptCommand({
          KeyId: demo.aws.keyArn,
          Plaintext: Buffer.from('from the cli'),
          EncryptionContext: { tenant: 't' },
        }),
      );
      const decrypted = await kms.send(
        new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: { tenant: 't' } }),
      );
      expect(Buffer.from(decrypted.Plaintext!).toString()).toBe('from the cli');
    } finally {
      kms.destroy();
    }
    // The Azure vault answers over TLS with the printed CA.
    const challenge = await request(`${demo.azure.vaultUrl}/keys/${demo.azure.keyName}?api-version=7.4`, {
      ca: document.ca.pem,
    });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toContain(demo.azure.tenantId);

    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
    expect(existsSync(document.ca.path)).toBe(false); // the temp CA directory is removed on shutdown
  }, 30_000);

  test('bad arguments exit 2 with usage on stderr', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', cli, '--seed', 'everything'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(stderr).toContain('--seed: expected demo or none');
    expect(stderr).toContain('usage: emulators');
  }, 20_000);
});
