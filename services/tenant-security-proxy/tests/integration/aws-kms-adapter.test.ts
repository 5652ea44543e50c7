/**
 * The AWS adapter against the AWS KMS emulator over real HTTP, through the official SDK. The client resolves its
 * middleware once and shares that handler between concurrent calls (`cacheMiddleware`), and its calls carry no
 * per-call abort signal; these tests hold it to what that must not cost: correct answers under concurrency, no
 * plaintext DEK left in the SDK, and hung requests that give their sockets back.
 */
import { randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { startEmulators, type Emulators } from '@opencmk/kms-emulator';
import { KmsError } from '../../src/errors.js';
import { AwsKmsAdapter } from '../../src/kms/aws.js';
import { SharedClients } from '../../src/kms/shared-clients.js';
import { demoAwsConfig } from '../support/demo-configs.js';
import type { AwsKmsConfig, KmsCallPolicy } from '../../src/kms/types.js';

let emulators: Emulators;
let config: AwsKmsConfig;
const policy: KmsCallPolicy = { timeoutMs: 1000, maxAttempts: 1, retryBaseMs: 10, extraCa: undefined };
const context = { tenantId: 'tenant-a', kmsConfigId: 7 };

beforeAll(async () => {
  emulators = await startEmulators({ seed: 'demo' });
  config = demoAwsConfig(emulators.demo!);
});
afterAll(() => emulators.close());
afterEach(() => emulators.resetFaults());

const adapter = () => new AwsKmsAdapter(config, policy, () => undefined, new SharedClients());
const sdkClient = (a: AwsKmsAdapter) => (a as unknown as { client: KMSClient }).client;

test('200 concurrent wraps and unwraps through the one cached handler: each DEK comes back as itself', async () => {
  const aws = adapter();
  const deks = Array.from({ length: 200 }, () => new Uint8Array(randomBytes(32)));
  const wrapped = await Promise.all(deks.map((dek) => aws.wrap(dek, context)));
  expect(new Set(wrapped.map((w) => Buffer.from(w).toString('base64'))).size).toBe(200);
  const unwrapped = await Promise.all(wrapped.map((w) => aws.unwrap(w, context)));
  unwrapped.forEach((dek, i) => expect(Buffer.from(dek).equals(Buffer.from(deks[i]!))).toBe(true));
  // The encryption context is still bound per call, not taken from the first call the handler ran.
  await expect(aws.unwrap(wrapped[0]!, { ...context, tenantId: 'tenant-b' })).rejects.toMatchObject({
    kind: 'InvalidCiphertext',
  });
});

test('the SDK keeps no plaintext DEK: what it was handed is zeroed once each wrap is over, the caller’s DEK is not', async () => {
  const aws = adapter();
  const handed: Uint8Array[] = [];
  sdkClient(aws).middlewareStack.add(
    (next) => (args) => {
      handed.push((args.input as { Plaintext: Uint8Array }).Plaintext);
      return next(args);
    },
    { step: 'initialize', name: 'testSeesPlaintext' },
  );
  // Buffers too: the proxy's DEKs are Buffers, whose slice() is a view, not a copy.
  const deks = Array.from({ length: 6 }, (_, i) => (i % 2 ? randomBytes(32) : new Uint8Array(randomBytes(32))));
  const copies = deks.map((dek) => Buffer.from(dek));
  const wrapped = await Promise.all(deks.map((dek) => aws.wrap(dek, context)));
  expect(handed).toHaveLength(6);
  for (const bytes of handed) expect(bytes.every((b) => b === 0)).toBe(true);
  deks.forEach((dek, i) => expect(Buffer.from(dek).equals(copies[i]!)).toBe(true));
  const unwrapped = await Promise.all(wrapped.map((w) => aws.unwrap(w, context)));
  unwrapped.forEach((dek, i) => expect(Buffer.from(dek).equals(copies[i]!)).toBe(true));
});

test('a hanging KMS: 70 concurrent calls (more than the 64 pooled sockets) time out at the deadline, and the sockets come back', async () => {
  const aws = adapter();
  await aws.wrap(new Uint8Array(32), context);
  emulators.aws.faults.hang();
  const started = Date.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: 70 }, () => aws.wrap(new Uint8Array(randomBytes(32)), context)),
  );
  expect(Date.now() - started).toBeLessThan(policy.timeoutMs + 1500);
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected');
    const reason = (outcome as PromiseRejectedResult).reason as KmsError;
    expect(reason).toBeInstanceOf(KmsError);
    expect(reason.kind).toBe('Timeout');
  }
  emulators.resetFaults();
  // Had the hung requests kept their sockets, this call would wait in the agent's queue until its own deadline.
  const again = Date.now();
  const dek = new Uint8Array(randomBytes(32));
  const wrapped = await aws.wrap(dek, context);
  expect(Date.now() - again).toBeLessThan(policy.timeoutMs / 2);
  expect(Buffer.from(await aws.unwrap(wrapped, context)).equals(Buffer.from(dek))).toBe(true);
});
