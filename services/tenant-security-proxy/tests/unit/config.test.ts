import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseEnvFile } from '../../src/config.js';

const valid = {
  OPENCMK_BROKER_URL: 'https://broker.example.com/',
  OPENCMK_PROXY_CONFIG_ID: '3f0c1d2e-0000-4000-8000-000000000001',
  OPENCMK_VENDOR_ID: '3f0c1d2e-0000-4000-8000-000000000002',
  OPENCMK_PROXY_PRIVATE_KEY: Buffer.alloc(32, 7).toString('base64url'),
  OPENCMK_BROKER_TOKEN: 'ocmk_bt_abcdefghijklmnopqrstuvwxyz',
  API_KEY: 'ocmk_ak_abcdefghijklmnopqrstuvwxyz',
  API_KEY_2: '',
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

test('a valid .env loads with the contract defaults', () => {
  const config = loadConfig(valid);
  expect(config).toMatchObject({
    brokerUrl: 'https://broker.example.com',
    apiKeys: [valid.API_KEY],
    port: 7777,
    healthPort: 9000,
    host: '0.0.0.0',
    logLevel: 'info',
    leaseRotationSeconds: 86400,
    leaseCacheTtlSeconds: 3600,
    leasePrewrapKeys: 65536,
    snapshotWaitSeconds: 25,
    snapshotRefreshSeconds: 300,
    kmsTimeoutMs: 5000,
    kmsExtraCa: undefined,
  });
  expect(config.proxyPrivateKey).toHaveLength(32);
  expect(loadConfig({ ...valid, API_KEY_2: 'ocmk_ak_second_key_0123456789' }).apiKeys).toHaveLength(2);
  expect(loadConfig({ ...valid, LEASE_PREWRAP_KEYS: '0' }).leasePrewrapKeys).toBe(0);
  expect(config.tuning).toMatchObject({ eventQueueLimitPerTenant: 10000, eventQueueLimitTotal: 100000 });
  expect(loadConfig({ ...valid, EVENT_QUEUE_LIMIT_TOTAL: '5000' }).tuning.eventQueueLimitTotal).toBe(5000);
  expect(config.tuning.idleGcSeconds).toBe(10);
  expect(loadConfig({ ...valid, IDLE_GC_SECONDS: '0' }).tuning.idleGcSeconds).toBe(0);
});

test('every problem names its variable and what is wrong, all at once', () => {
  expect(problems({})).toEqual(
    expect.arrayContaining([
      'OPENCMK_BROKER_URL is required',
      'OPENCMK_PROXY_CONFIG_ID is required',
      'OPENCMK_VENDOR_ID is required',
      'OPENCMK_PROXY_PRIVATE_KEY is required',
      'OPENCMK_BROKER_TOKEN is required',
      'API_KEY is required',
    ]),
  );
  const found = problems({
    ...valid,
    OPENCMK_BROKER_URL: 'ftp://x',
    OPENCMK_PROXY_PRIVATE_KEY: Buffer.alloc(16).toString('base64url'),
    API_KEY: 'short',
    PORT: '70000',
    SNAPSHOT_WAIT_SECONDS: '31',
    LOG_LEVEL: 'loud',
    KMS_TIMEOUT_MS: 'soon',
    LEASE_PREWRAP_KEYS: '-1',
    EVENT_QUEUE_LIMIT_TOTAL: '0',
    IDLE_GC_SECONDS: '7200',
  });
  expect(found).toEqual(
    expect.arrayContaining([
      'OPENCMK_BROKER_URL must be an http(s) URL',
      'OPENCMK_PROXY_PRIVATE_KEY must decode to 32 bytes',
      'API_KEY must be at least 16 characters',
      'PORT must be 0–65535',
      'SNAPSHOT_WAIT_SECONDS must be 0–30',
      'LEASE_PREWRAP_KEYS must be 0–1000000 (0 turns pre-wrapping off)',
      'EVENT_QUEUE_LIMIT_TOTAL must be positive',
      'IDLE_GC_SECONDS must be 0–3600 (0 turns it off)',
    ]),
  );
  expect(found.some((p) => p.startsWith('LOG_LEVEL '))).toBe(true);
  expect(found.some((p) => p.startsWith('KMS_TIMEOUT_MS '))).toBe(true);
});

test('KMS_EXTRA_CA_FILE must be a readable PEM file', () => {
  expect(problems({ ...valid, KMS_EXTRA_CA_FILE: '/nonexistent/ca.pem' })).toEqual([
    'KMS_EXTRA_CA_FILE cannot be read (ENOENT)',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'tsp-config-'));
  writeFileSync(join(dir, 'bad.pem'), 'not a certificate');
  expect(problems({ ...valid, KMS_EXTRA_CA_FILE: join(dir, 'bad.pem') })).toEqual([
    'KMS_EXTRA_CA_FILE does not contain a PEM certificate',
  ]);
});

test('.env files: comments, quotes, export prefix', () => {
  expect(parseEnvFile('# comment\nA=1\nexport B="two words"\nC=\'x=y\'\n\nbad line\nD=')).toEqual({
    A: '1',
    B: 'two words',
    C: 'x=y',
    D: '',
  });
});
