/**
 * `npm run bench -w packages/tenant-security-client`: one interleaved run of
 *   (a) raw node:crypto AES-256-GCM on the same bytes (random IV, IV || ciphertext || tag in one buffer),
 *   (b) this client,
 *   (c) IronCore's client (@ironcorelabs/tenant-security-nodejs),
 * locally (no proxy call: a fresh DEK per document, as every encryptDocument gets one) and end to end against one
 * running OpenCMK proxy with leased keys. Several rounds, the first a discarded warm-up; within a round the
 * contenders take turns in short slices (10 ms locally, 250 ms end to end) so that load from elsewhere on a shared
 * machine falls on all of them alike. Ratios are computed per round and reported as min / median / max.
 *
 * Environment: BENCH_ROUNDS (default 7), BENCH_ROUND_MS (local, default 400), BENCH_E2E_MS (default 2000),
 * STREAM_BYTES (default 1 GiB), BENCH_PARTS (default local,overhead,streams,e2e), BENCH_SKIP_E2E=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocumentMetadata, TenantSecurityClient } from '../src/index.js';
import { decryptDocumentFields, encryptDocumentFields } from '../src/document-format.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const ironcoreCrypto = require('@ironcorelabs/tenant-security-nodejs/src/kms/Crypto') as {
  encryptDocument(document: Record<string, Buffer>, dek: string, tenantId: string): Engageable<Record<string, Buffer>>;
  decryptDocument(document: Record<string, Buffer>, dek: string): Engageable<Record<string, Buffer>>;
};
const ironcore = require('@ironcorelabs/tenant-security-nodejs') as {
  TenantSecurityClient: new (
    domain: string,
    apiKey: string,
  ) => {
    encryptDocument(d: Record<string, Buffer>, m: unknown): Promise<unknown>;
    decryptDocument(d: unknown, m: unknown): Promise<unknown>;
  };
  DocumentMetadata: new (tenantId: string, requestingId: string) => unknown;
};
interface Engageable<T> {
  engage(reject: (error: Error) => void, resolve: (value: T) => void): void;
}

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 400);
const E2E_MS = Number(process.env['BENCH_E2E_MS'] ?? 2000);
const TENANT = 'aws-leased';

// ---------------------------------------------------------------------------------------------------------------
// Measurement helpers
// ---------------------------------------------------------------------------------------------------------------
type Contenders = Record<string, () => void>;

/**
 * Rounds of synchronous contenders, interleaved finely: within a round the contenders take turns in slices of
 * `sliceMs` (10 ms; longer for operations of milliseconds) until each has run `roundMs`, so that load from elsewhere on a shared machine falls on all of them
 * alike. Round 0 is a discarded warm-up. Returns operations per second per contender per round.
 */
function interleavedSync(
  contenders: Contenders,
  rounds: number,
  roundMs: number,
  sliceMs = 10,
): Record<string, number[]> {
  const names = Object.keys(contenders);
  const results: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const sliceNs = BigInt(sliceMs) * 1_000_000n;
  for (let round = 0; round <= rounds; round += 1) {
    global.gc?.();
    const operations = new Map(names.map((name) => [name, 0]));
    const elapsed = new Map(names.map((name) => [name, 0n]));
    while (Math.min(...names.map((name) => Number(elapsed.get(name)!))) < roundMs * 1e6) {
      // A fresh random order each cycle, so that no contender always runs right after another and pays for its
      // garbage. (A forced collection before every slice was tried and dropped: it slowed IronCore's client far
      // more than the others, V8 discarding compiled code it had not just run.)
      for (const name of shuffled(names)) {
        const operation = contenders[name]!;
        const started = process.hrtime.bigint();
        let now = started;
        let count = 0;
        while (now - started < sliceNs) {
          operation();
          count += 1;
          now = process.hrtime.bigint();
        }
        operations.set(name, operations.get(name)! + count);
        elapsed.set(name, elapsed.get(name)! + (now - started));
      }
    }
    if (round > 0)
      for (const name of names) results[name]!.push(operations.get(name)! / (Number(elapsed.get(name)!) / 1e9));
  }
  return results;
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

function summary(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
}

const format = (value: number, digits = 2) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const formatCount = (value: number) => Math.round(value).toLocaleString('en-US');

/**
 * Rounds of asynchronous contenders (end to end), taking turns in slices of `sliceMs` until each has run `roundMs`
 * in the round; a slice returns how many documents it completed and in how many seconds. Round 0 is a warm-up.
 */
async function interleavedAsync(
  contenders: Record<string, (sliceMs: number) => Promise<{ completed: number; seconds: number }>>,
  rounds: number,
  roundMs: number,
  sliceMs = 250,
): Promise<Record<string, number[]>> {
  const names = Object.keys(contenders);
  const results: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round <= rounds; round += 1) {
    const completed = new Map(names.map((name) => [name, 0]));
    const seconds = new Map(names.map((name) => [name, 0]));
    for (let slice = 0; slice < Math.ceil(roundMs / sliceMs); slice += 1) {
      for (let index = 0; index < names.length; index += 1) {
        const name = names[(index + slice + round) % names.length]!;
        const result = await contenders[name]!(sliceMs);
        completed.set(name, completed.get(name)! + result.completed);
        seconds.set(name, seconds.get(name)! + result.seconds);
      }
    }
    if (round > 0) for (const name of names) results[name]!.push(completed.get(name)! / seconds.get(name)!);
  }
  return results;
}

function ratioLine(label: string, numerator: number[], denominator: number[], target?: number): string {
  const ratios = summary(numerator.map((value, index) => value / denominator[index]!));
  const verdict =
    target === undefined
      ? ''
      : ratios.median >= target && ratios.min >= 0.9 * target
        ? `  ✓ target ${target}`
        : `  ✗ target ${target}`;
  return `  ${label.padEnd(34)} min ${format(ratios.min)}  median ${format(ratios.median)}  max ${format(ratios.max)}${verdict}`;
}

function countLine(label: string, values: number[], unit: string): string {
  const stats = summary(values);
  return `  ${label.padEnd(34)} min ${formatCount(stats.min)}  median ${formatCount(stats.median)}  max ${formatCount(stats.max)} ${unit}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Local: encryption and decryption of one-field documents with a fresh DEK each
// ---------------------------------------------------------------------------------------------------------------
function rawEncrypt(plaintext: Buffer, dekBase64: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(dekBase64, 'base64'), iv);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

function rawDecrypt(encrypted: Buffer, dekBase64: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(dekBase64, 'base64'), encrypted.subarray(0, 12));
  decipher.setAuthTag(encrypted.subarray(encrypted.length - 16));
  const plaintext = decipher.update(encrypted.subarray(12, encrypted.length - 16));
  decipher.final();
  return plaintext;
}

function engageSync<T>(future: Engageable<T>): T {
  let result: T | undefined;
  future.engage(
    (error) => {
      throw error;
    },
    (value) => {
      result = value;
    },
  );
  if (result === undefined) throw new Error('IronCore future did not complete synchronously');
  return result;
}

/** What any writer of the format must do at least per document with a fresh DEK: (a) plus the header signature's GCM pass. */
function formatFloor(plaintext: Buffer, dekBase64: string, signatureIv: Buffer, tenantHeader: Buffer): Buffer {
  const dek = Buffer.from(dekBase64, 'base64');
  const signer = createCipheriv('aes-256-gcm', dek, signatureIv);
  signer.update(tenantHeader);
  signer.final();
  signer.getAuthTag();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dek, iv);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

async function local(
  fieldSizes: number[],
  label: string,
  rounds: number,
  minMs: number,
  targets: { vsRaw?: number; vsIronCore?: number },
): Promise<string[]> {
  const document = Object.fromEntries(fieldSizes.map((size, index) => [`field${index}`, randomBytes(size)]));
  const fields = Object.values(document);
  const totalSize = fieldSizes.reduce((sum, size) => sum + size, 0);
  // A 1 MiB operation takes milliseconds: slices long enough for a dozen of them.
  const sliceMs = totalSize >= 1024 * 1024 ? 60 : 10;
  const deks = Array.from({ length: 256 }, () => randomBytes(32).toString('base64'));
  let next = 0;
  const dek = () => deks[(next = (next + 1) & 255)]!;
  // Sanity: every contender produces something the others' decryption accepts.
  const sample = deks[0]!;
  const ours = encryptDocumentFields(document, Buffer.from(sample, 'base64'), TENANT);
  const theirs = engageSync(ironcoreCrypto.encryptDocument(document, sample, TENANT));
  const ironcoreReadsOurs = engageSync(ironcoreCrypto.decryptDocument(ours, sample));
  const weReadIronCores = decryptDocumentFields(theirs, Buffer.from(sample, 'base64'));
  for (const key of Object.keys(document)) {
    if (!ironcoreReadsOurs[key]!.equals(document[key]!) || !weReadIronCores[key]!.equals(document[key]!))
      throw new Error('documents do not interoperate');
  }
  const signatureIv = randomBytes(12);
  const tenantHeader = Buffer.from(`\n\n${TENANT}`);
  const withFloor = fields.length === 1;

  const encrypt = interleavedSync(
    {
      raw: () => {
        const key = dek();
        for (const field of fields) rawEncrypt(field, key);
      },
      ours: () => encryptDocumentFields(document, Buffer.from(dek(), 'base64'), TENANT),
      ironcore: () => engageSync(ironcoreCrypto.encryptDocument(document, dek(), TENANT)),
      ...(withFloor ? { floor: () => formatFloor(fields[0]!, dek(), signatureIv, tenantHeader) } : {}),
    },
    rounds,
    minMs,
    sliceMs,
  );
  const rawCiphertexts = fields.map((field) => rawEncrypt(field, sample));
  const decrypt = interleavedSync(
    {
      raw: () => {
        for (const ciphertext of rawCiphertexts) rawDecrypt(ciphertext, sample);
      },
      ours: () => decryptDocumentFields(ours, Buffer.from(sample, 'base64')),
      ironcore: () => engageSync(ironcoreCrypto.decryptDocument(theirs, sample)),
    },
    rounds,
    minMs,
    sliceMs,
  );
  const inMegabytes = totalSize >= 1024 * 1024;
  const perSecond = inMegabytes
    ? (values: number[]) => values.map((value) => (value * totalSize) / 1e6)
    : (values: number[]) => values;
  const unit = inMegabytes ? 'MB/s' : 'docs/s';
  return [
    `Local encryption, ${label} (fresh DEK per document, as encryptDocument gets; no proxy call)`,
    countLine('(a) raw GCM', perSecond(encrypt['raw']!), unit),
    countLine('(b) OpenCMK client', perSecond(encrypt['ours']!), unit),
    countLine('(c) IronCore client', perSecond(encrypt['ironcore']!), unit),
    ...(withFloor ? [countLine('(d) format floor: (a) + signature', perSecond(encrypt['floor']!), unit)] : []),
    ratioLine('(b) / (a)', encrypt['ours']!, encrypt['raw']!, targets.vsRaw),
    ratioLine('(b) / (c)', encrypt['ours']!, encrypt['ironcore']!, targets.vsIronCore),
    ratioLine('(c) / (a)', encrypt['ironcore']!, encrypt['raw']!),
    ...(withFloor
      ? [
          ratioLine('(d) / (a)', encrypt['floor']!, encrypt['raw']!),
          ratioLine('(d) / (c)', encrypt['floor']!, encrypt['ironcore']!),
        ]
      : []),
    `Local decryption, ${label} (header signature verified by (b), not by (c))`,
    countLine('(a) raw GCM', perSecond(decrypt['raw']!), unit),
    countLine('(b) OpenCMK client', perSecond(decrypt['ours']!), unit),
    countLine('(c) IronCore client', perSecond(decrypt['ironcore']!), unit),
    ratioLine('(b) / (a)', decrypt['ours']!, decrypt['raw']!),
    ratioLine('(b) / (c)', decrypt['ours']!, decrypt['ironcore']!),
  ];
}

function overhead(): string[] {
  const dek = randomBytes(32);
  const lines = ['Ciphertext overhead per field (bytes beyond the plaintext)'];
  for (const tenantId of ['t', TENANT, 'a-rather-long-tenant-identifier-0123456789']) {
    for (const size of [0, 1024]) {
      const plaintext = randomBytes(size);
      const ours = encryptDocumentFields({ f: plaintext }, dek, tenantId)['f']!.length - size;
      const theirs =
        engageSync(ironcoreCrypto.encryptDocument({ f: plaintext }, dek.toString('base64'), tenantId))['f']!.length -
        size;
      lines.push(
        `  tenant id of ${String(tenantId.length).padStart(2)} chars, ${String(size).padStart(4)}-byte field: OpenCMK ${ours}, IronCore ${theirs}${ours <= theirs ? '  ✓' : '  ✗'}`,
      );
    }
  }
  return lines;
}

async function streams(): Promise<string[]> {
  const lines = [
    `Streams: ${(Number(process.env['STREAM_BYTES'] ?? 1024 ** 3) / 1024 ** 3).toFixed(2)} GiB encrypted and decrypted in one pipeline (separate process, after a 64 MiB warm-up stream)`,
  ];
  for (const kind of ['node', 'web']) {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'stream-memory.ts'), kind], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: process.env,
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`stream benchmark exited with ${code}`)),
      );
    });
    const result = JSON.parse(output) as {
      intact: boolean;
      seconds: number;
      mbPerSecond: number;
      rssGrowthMiB: number;
      rssGrowthFromColdMiB: number;
    };
    lines.push(
      `  ${kind.padEnd(5)} streams: ${format(result.seconds)} s, ${formatCount(result.mbPerSecond)} MB/s, peak RSS growth ${format(result.rssGrowthMiB, 1)} MiB after warm-up ${result.rssGrowthMiB < 64 ? '✓ (< 64)' : '✗ (target < 64)'}, ${format(result.rssGrowthFromColdMiB, 1)} MiB from a cold start, plaintext ${result.intact ? 'intact' : 'CORRUPTED'}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// End to end against the running proxy (its own process), world from the proxy's test support
// ---------------------------------------------------------------------------------------------------------------
async function startProxyProcess(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const proxyDir = join(here, '..', '..', '..', 'services', 'tenant-security-proxy');
  const built = join(proxyDir, 'dist', 'main.js');
  const args = existsSync(built) ? [built] : ['--import', 'tsx', join(proxyDir, 'src', 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: proxyDir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/tmp',
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
      ...env,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the proxy did not report its port within 90 s; stderr: ${stderr.slice(-500)}`));
    }, 90_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the proxy exited with ${code}; stderr: ${stderr.slice(-500)}`));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        const match = /"msg":"tenant security proxy started"/.test(line) ? /"port":(\d+)/.exec(line) : null;
        if (match) {
          clearTimeout(timer);
          resolve({ url: `http://127.0.0.1:${match[1]}`, child });
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU per document (µs) of this process and of the proxy process, per contender, over the e2e rounds. */
const cpuPerDocument: Record<string, { client: number[]; proxy: number[] }> = {};

async function concurrentSlice(
  label: string,
  proxyPid: number,
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<{ completed: number; seconds: number }> {
  let completed = 0;
  const deadline = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  const clientCpu = process.cpuUsage();
  const proxyCpu = processCpuSeconds(proxyPid);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await call();
        completed += 1;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const clientUsed = process.cpuUsage(clientCpu);
  const entry = (cpuPerDocument[label] ??= { client: [], proxy: [] });
  entry.client.push((clientUsed.user + clientUsed.system) / completed);
  entry.proxy.push(((processCpuSeconds(proxyPid) - proxyCpu) * 1e6) / completed);
  return { completed, seconds };
}

async function endToEnd(): Promise<string[]> {
  // The proxy's own test support: KMS emulators (seeded demo world) and the broker test server.
  const { startWorld } =
    (await import('../../../services/tenant-security-proxy/tests/support/world.js')) as typeof import('../../../services/tenant-security-proxy/tests/support/world.js');
  const world = await startWorld();
  let proxy: { url: string; child: ChildProcess } | undefined;
  try {
    proxy = await startProxyProcess(world.proxyEnv);
    const apiKey = world.proxyEnv['API_KEY']!;
    const pid = proxy.child.pid!;
    const ours = new TenantSecurityClient(proxy.url, apiKey);
    const theirs = new ironcore.TenantSecurityClient(proxy.url, apiKey);
    const ourMetadata = new DocumentMetadata(TENANT, 'bench');
    const theirMetadata = new ironcore.DocumentMetadata(TENANT, 'bench');
    const plaintext = randomBytes(1024);
    // Ready and leased: wait until a call succeeds, then both clients once (the lease is created on first use).
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await ours.encryptDocument({ f: plaintext }, ourMetadata);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const ourSample = await ours.encryptDocument({ f: plaintext }, ourMetadata);
    const theirSample = (await theirs.encryptDocument({ f: plaintext }, theirMetadata)) as {
      encryptedDocument: Record<string, Buffer>;
      edek: string;
    };
    const results = await interleavedAsync(
      {
        ours: (ms) =>
          concurrentSlice('encrypt ours', pid, () => ours.encryptDocument({ f: plaintext }, ourMetadata), 10, ms),
        ironcore: (ms) =>
          concurrentSlice(
            'encrypt ironcore',
            pid,
            () => theirs.encryptDocument({ f: plaintext }, theirMetadata),
            10,
            ms,
          ),
      },
      Math.min(ROUNDS, 5),
      E2E_MS,
    );
    const decrypt = await interleavedAsync(
      {
        ours: (ms) => concurrentSlice('decrypt ours', pid, () => ours.decryptDocument(ourSample, ourMetadata), 10, ms),
        ironcore: (ms) =>
          concurrentSlice('decrypt ironcore', pid, () => theirs.decryptDocument(theirSample, theirMetadata), 10, ms),
      },
      Math.min(ROUNDS, 5),
      E2E_MS,
    );
    ours.close();
    return [
      `End to end against the OpenCMK proxy (own process, tenant ${TENANT}, leased keys), 1 KiB documents, 10 concurrent calls`,
      countLine('encrypt (b) OpenCMK client', results['ours']!, 'docs/s'),
      countLine('encrypt (c) IronCore client', results['ironcore']!, 'docs/s'),
      ratioLine('encrypt (b) / (c)', results['ours']!, results['ironcore']!, 2.5),
      countLine('decrypt (b) OpenCMK client', decrypt['ours']!, 'docs/s'),
      countLine('decrypt (c) IronCore client', decrypt['ironcore']!, 'docs/s'),
      ratioLine('decrypt (b) / (c)', decrypt['ours']!, decrypt['ironcore']!),
      'CPU per document (median µs): client process / proxy process',
      ...Object.entries(cpuPerDocument).map(
        ([label, cpu]) =>
          `  ${label.padEnd(34)} ${formatCount(summary(cpu.client).median)} / ${formatCount(summary(cpu.proxy).median)}`,
      ),
    ];
  } finally {
    proxy?.child.kill('SIGTERM');
    await world.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n\n`);
  process.stdout.write(
    `@opencmk/tenant-security-client benchmark — Node ${process.version}, ${ROUNDS} rounds after a warm-up, ratios per round\n\n`,
  );
  const parts = new Set((process.env['BENCH_PARTS'] ?? 'local,overhead,streams,e2e').split(','));
  if (parts.has('local')) {
    print(await local([1024], '1 KiB documents of one field', ROUNDS, ROUND_MS, { vsIronCore: 2 }));
    print(
      await local([256, 256, 256, 256], '1 KiB documents of four 256-byte fields', ROUNDS, ROUND_MS, { vsIronCore: 2 }),
    );
    print(await local([1024 * 1024], '1 MiB documents of one field', ROUNDS, Math.max(ROUND_MS, 600), { vsRaw: 0.9 }));
  }
  if (parts.has('overhead')) print(overhead());
  if (parts.has('streams')) print(await streams());
  if (process.env['BENCH_SKIP_E2E'] === '1' || !parts.has('e2e')) {
    print(['End to end: skipped']);
  } else {
    try {
      print(await endToEnd());
    } catch (error) {
      print([`End to end: not measured — ${(error as Error).message}`]);
    }
  }
  process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

await main();
