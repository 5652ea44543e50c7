/**
 * `npm run bench -w services/tenant-security-proxy`: the proxy (built, `node dist/main.js`, its own process) against
 * a bare node:http server answering the same JSON (its own process), interleaved round by round, autocannon in this
 * process at 10 and 100 connections. Prints absolute figures and per-round ratios (min/median/max) against the
 * targets of issue 6. Environment: BENCH_ROUNDS (5), BENCH_SECONDS (4), BENCH_TENANTS (10000), BENCH_MALLOC,
 * BENCH_PROXY_NODE (the node the proxy runs on, or a script that execs one: to start it in a memory-limited cgroup,
 * as a container is, since V8 sizes its heap by the memory limit it finds; default: the node running this).
 *
 * The proxy runs on the allocator the image gives it (jemalloc, with the Dockerfile's MALLOC_CONF) when this machine
 * has it (Debian: libjemalloc2), else on glibc's malloc; BENCH_MALLOC=glibc or =jemalloc chooses. The other servers
 * run on glibc's. For the image's Node, put it first on PATH: every process of the run uses this one's node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startEmulators } from '@opencmk/kms-emulator';
import { startTestBroker } from '../tests/support/test-broker.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 10000);
const SETTLE_SECONDS = 30;
const HERE = dirname(fileURLToPath(import.meta.url));

/** The environment that puts the proxy on the image's allocator, or none for glibc's malloc. */
function proxyMalloc(): { name: string; env: NodeJS.ProcessEnv } {
  const choice = process.env.BENCH_MALLOC;
  if (choice !== undefined && choice !== 'glibc' && choice !== 'jemalloc') {
    throw new Error(`BENCH_MALLOC must be glibc or jemalloc, not ${JSON.stringify(choice)}`);
  }
  const library = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libjemalloc.so.2`;
  const present = existsSync(library);
  if (choice === 'jemalloc' && !present) throw new Error(`BENCH_MALLOC=jemalloc: ${library} is missing (libjemalloc2)`);
  if (choice === 'glibc' || !present) return { name: present ? 'glibc' : `glibc (no ${library})`, env: {} };
  const dockerfile = readFileSync(join(HERE, '..', 'Dockerfile'), 'utf8');
  const conf = /^\s*MALLOC_CONF=(\S+)$/m.exec(dockerfile)?.[1];
  if (!conf) throw new Error('the Dockerfile sets no MALLOC_CONF');
  return { name: `jemalloc (${conf})`, env: { LD_PRELOAD: library, MALLOC_CONF: conf } };
}

interface Child {
  process: ChildProcess;
  port: number;
  healthPort?: number;
  outFile: string;
}

/**
 * Starts a child whose first JSON line with a `port` announces it. Its stdout goes to a file, not a pipe: the proxy
 * writes a security event per request to stdout, and a pipe drained by this (busy) load-generator process would
 * block the proxy's synchronous stdout writes and measure this process instead of the proxy.
 */
async function spawnJsonPort(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  ipc = false,
  node = process.execPath,
): Promise<Child> {
  const outFile = join(mkdtempSync(join(tmpdir(), 'tsp-bench-')), 'stdout.log');
  const out = openSync(outFile, 'w');
  const child = spawn(node, args, {
    env,
    stdio: ['ignore', out, 'inherit', ...(ipc ? (['ipc'] as const) : [])],
  });
  closeSync(out);
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${args[0]} exited before announcing its port`);
    const text = readFileSync(outFile, 'utf8');
    for (const line of text.split('\n')) {
      try {
        const parsed = JSON.parse(line) as { port?: number; healthPort?: number; msg?: string };
        if (parsed.port && (parsed.msg === undefined || parsed.msg === 'tenant security proxy started')) {
          return {
            process: child,
            port: parsed.port,
            ...(parsed.healthPort ? { healthPort: parsed.healthPort } : {}),
            outFile,
          };
        }
      } catch {
        // not a JSON line (yet)
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Load {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time the server's main thread spent per request (µs): robust to other load on the machine. */
  cpuMicros: number;
  /** The same for all of the server's threads (GC helpers, libuv's pool, the proxy's prewrap worker). */
  processCpuMicros: number;
}

/**
 * utime + stime in clock ticks (fields 14 and 15; 100 ticks per second on Linux) of the main thread (the event loop,
 * which bounds throughput: /proc/<pid>/task/<pid>/stat), or of every thread of the process (/proc/<pid>/stat).
 */
function cpuTicks(pid: number, allThreads = false): number {
  const stat = readFileSync(allThreads ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function load(url: string, connections: number, body: string, apiKey: string, pid: number): Promise<Load> {
  const ticksBefore = cpuTicks(pid);
  const processTicksBefore = cpuTicks(pid, true);
  const result = await autocannon({
    url,
    connections,
    duration: SECONDS,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `cmk ${apiKey}` },
    body,
  });
  const cpuMicros = ((cpuTicks(pid) - ticksBefore) * 10_000) / Math.max(1, result.requests.total);
  const processCpuMicros = ((cpuTicks(pid, true) - processTicksBefore) * 10_000) / Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMicros,
    processCpuMicros,
  };
}

/** (d): a plain keep-alive client at low concurrency, batch-wrap of 1,000 ids; returns keys/s and p99 ms. */
async function batchLoad(
  port: number,
  apiKey: string,
  concurrency: number,
): Promise<{ keysPerSecond: number; p99: number }> {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({
    tenantId: 'bench-leased',
    iclFields: { requestingId: 'bench' },
    documentIds: Array.from({ length: 1000 }, (_, i) => `doc-${i}`),
  });
  const latencies: number[] = [];
  let keys = 0;
  const end = Date.now() + SECONDS * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/1/document/batch-wrap',
          method: 'POST',
          agent,
          headers: {
            authorization: `cmk ${apiKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys: Record<string, unknown> };
            keys += Object.keys(parsed.keys).length;
            latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { keysPerSecond: keys / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

interface KmsFloor {
  callsPerSecond: number;
  failed: number;
  rssBefore: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
}

/** bench/kms-floor.mjs on the proxy's node and allocator: what the AWS SDK alone holds after (e)'s load. */
async function kmsFloor(
  node: string,
  mallocEnv: NodeJS.ProcessEnv,
  config: unknown,
  seconds: number,
): Promise<KmsFloor> {
  const child = spawn(node, [join(HERE, 'kms-floor.mjs'), JSON.stringify({ config, connections: 100, seconds })], {
    env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true', ...mallocEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/kms-floor.mjs exited with ${code}`);
  return JSON.parse(out) as KmsFloor;
}

async function post(port: number, route: string, body: unknown, apiKey: string): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${port}/api/1/${route}`, {
    method: 'POST',
    headers: { authorization: `cmk ${apiKey}` },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function metricsText(healthPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
};
const fmt = (s: { min: number; median: number; max: number }, digits = 2) =>
  `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;
/** A ratio passes when its median meets the bar and its minimum is at least 90 % of it. */
const verdict = (s: { min: number; median: number }, bar: number) =>
  s.median >= bar && s.min >= 0.9 * bar ? 'PASS' : 'FAIL';

async function main(): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const emulators = await startEmulators({ seed: 'demo' });
  const demo = emulators.demo!;
  const broker = await startTestBroker();
  const sink = await spawnJsonPort([join(HERE, 'sink-server.mjs')], process.env, true);
  const slowKey = emulators.aws.control.api.addKey({
    accountId: '222222222222',
    region: demo.aws.region,
    allowedPrincipals: [demo.aws.tenantUser.arn],
  });
  emulators.aws.faults.latency(20, { match: { key: slowKey.arn } });
  const awsPayload = (keyArn: string) => ({
    provider: 'aws',
    keyArn,
    region: demo.aws.region,
    endpoint: demo.aws.endpoint,
    accessKeyId: demo.aws.tenantUser.accessKeyId,
    secretAccessKey: demo.aws.tenantUser.secretAccessKey,
  });
  broker.setTenant({
    tenantId: 'bench-leased',
    kmsConfigs: [
      { id: 1, provider: 'aws', status: 'primary', leasingAllowed: true, payload: awsPayload(demo.aws.keyArn) },
    ],
  });
  broker.setTenant({
    tenantId: 'bench-kms',
    kmsConfigs: [
      { id: 2, provider: 'aws', status: 'primary', leasingAllowed: false, payload: awsPayload(slowKey.arn) },
    ],
  });
  broker.setTenant({
    tenantId: 'bench-sink',
    kmsConfigs: [
      { id: 3, provider: 'aws', status: 'primary', leasingAllowed: true, payload: awsPayload(demo.aws.keyArn) },
    ],
    loggingConfig: {
      id: 1,
      provider: 'webhook',
      payload: {
        provider: 'webhook',
        url: `http://127.0.0.1:${sink.port}/events`,
        hmacSecret: 'bench-secret-bench-secret',
      },
    },
  });
  broker.setTenant({
    tenantId: 'bench-cold',
    kmsConfigs: [
      { id: 4, provider: 'aws', status: 'primary', leasingAllowed: true, payload: awsPayload(demo.aws.keyArn) },
    ],
  });
  broker.addBulkTenants(
    'bulk-',
    TENANTS,
    { provider: 'aws', status: 'primary', leasingAllowed: true, payload: awsPayload(demo.aws.keyArn) },
    20,
  );

  const apiKey = broker.proxyEnv.API_KEY!;
  const malloc = proxyMalloc();
  const proxyNode = process.env.BENCH_PROXY_NODE ?? process.execPath;
  console.log(
    `proxy runtime: ${proxyNode === process.execPath ? `node ${process.version}` : proxyNode}, ${malloc.name}`,
  );
  const spawnedAt = performance.now();
  const proxy = await spawnJsonPort(
    [join(HERE, '..', 'dist', 'main.js')],
    {
      PATH: process.env.PATH,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...malloc.env,
      ...broker.proxyEnv,
      LOG_LEVEL: 'info',
      KMS_TIMEOUT_MS: '5000',
    },
    false,
    proxyNode,
  );
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${proxy.healthPort}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const readyMs = performance.now() - spawnedAt;
  /** A gauge of the proxy's /metrics in MiB. */
  const mib = (text: string, gauge: string) =>
    Number(new RegExp(`^${gauge} (\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024 / 1024;
  const rssAfterLoad = (text: string) => mib(text, 'tsp_process_resident_memory_bytes');
  const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const rssReady = rssAfterLoad(await metricsText(proxy.healthPort!));

  // Cold start of one tenant under concurrent load: exactly one KMS call.
  const encryptsBefore = emulators.aws.log.count({ operation: 'Encrypt' });
  await Promise.all(
    Array.from({ length: 200 }, () =>
      post(proxy.port, 'document/wrap', { tenantId: 'bench-cold', iclFields: { requestingId: 'bench' } }, apiKey),
    ),
  );
  const coldKmsCalls = emulators.aws.log.count({ operation: 'Encrypt' }) - encryptsBefore;
  emulators.aws.log.clear();

  const bare = await spawnJsonPort([join(HERE, 'bare-server.mjs'), '400']);
  // Calibration: the minimal stand-in of performance-notes.md (node:http + one leased GCM wrap, nothing else).
  const standin = await spawnJsonPort([join(HERE, 'standin-server.mjs')]);
  const wrapBody = JSON.stringify({
    tenantId: 'bench-leased',
    iclFields: { requestingId: 'bench', dataLabel: 'PII' },
    customFields: {},
  });
  const sinkBody = JSON.stringify({
    tenantId: 'bench-sink',
    iclFields: { requestingId: 'bench', dataLabel: 'PII' },
    customFields: {},
  });
  const kmsBody = JSON.stringify({ tenantId: 'bench-kms', iclFields: { requestingId: 'bench' }, customFields: {} });
  const sample = await post(proxy.port, 'document/wrap', JSON.parse(wrapBody), apiKey);
  const unwrapBody = JSON.stringify({
    tenantId: 'bench-leased',
    iclFields: { requestingId: 'bench' },
    encryptedDocumentKey: sample.edek,
  });
  console.log(`leased wrap response: ${JSON.stringify(sample).length} bytes (bare server answers 400)`);
  await post(proxy.port, 'document/wrap', JSON.parse(sinkBody), apiKey);
  await post(proxy.port, 'document/wrap', JSON.parse(kmsBody), apiKey);

  // Warm-up.
  const proxyUrl = `http://127.0.0.1:${proxy.port}/api/1/document/wrap`;
  const unwrapUrl = `http://127.0.0.1:${proxy.port}/api/1/document/unwrap`;
  const bareUrl = `http://127.0.0.1:${bare.port}/`;
  const proxyPid = proxy.process.pid!;
  const barePid = bare.process.pid!;
  const standinPid = standin.process.pid!;
  const standinUrl = `http://127.0.0.1:${standin.port}/`;
  await load(bareUrl, 10, wrapBody, apiKey, barePid);
  await load(proxyUrl, 10, wrapBody, apiKey, proxyPid);
  await load(unwrapUrl, 10, unwrapBody, apiKey, proxyPid);

  type Row = Record<string, number[]>;
  const rows: Record<number, Row> = { 10: {}, 100: {} };
  const push = (c: number, name: string, value: number) => (rows[c]![name] ??= []).push(value);
  let problems = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of [10, 100]) {
      const a = await load(bareUrl, c, wrapBody, apiKey, barePid);
      const b = await load(proxyUrl, c, wrapBody, apiKey, proxyPid);
      const u = await load(unwrapUrl, c, unwrapBody, apiKey, proxyPid);
      const st = await load(standinUrl, c, wrapBody, apiKey, standinPid);
      for (const r of [a, b, u, st]) problems += r.non2xx + r.errors;
      push(c, 'stand-in/a', st.rps / a.rps);
      push(c, 'b/stand-in', b.rps / st.rps);
      push(c, 'a rps', a.rps);
      push(c, 'b rps', b.rps);
      push(c, 'c rps', u.rps);
      push(c, 'a p99', a.p99);
      push(c, 'b p99', b.p99);
      push(c, 'c p99', u.p99);
      push(c, 'b/a', b.rps / a.rps);
      push(c, 'c/a', u.rps / a.rps);
      push(c, 'a cpu µs/req', a.cpuMicros);
      push(c, 'b cpu µs/req', b.cpuMicros);
      push(c, 'c cpu µs/req', u.cpuMicros);
      push(c, 'a all-threads µs', a.processCpuMicros);
      push(c, 'b all-threads µs', b.processCpuMicros);
      push(c, 'c all-threads µs', u.processCpuMicros);
      push(c, 'b/a by cpu', a.cpuMicros / b.cpuMicros);
      push(c, 'c/a by cpu', a.cpuMicros / u.cpuMicros);
      push(c, 'b p99/a p99', b.p99 / Math.max(a.p99, 1));
      push(c, 'c p99/a p99', u.p99 / Math.max(a.p99, 1));
      if (c === 10) {
        const s = await load(proxyUrl, c, sinkBody, apiKey, proxyPid);
        problems += s.non2xx + s.errors;
        push(c, 'b+sink rps', s.rps);
        push(c, 'b+sink/a', s.rps / a.rps);
        push(c, 'b+sink/a by cpu', a.cpuMicros / s.cpuMicros);
        const d = await batchLoad(proxy.port, apiKey, 2);
        push(c, 'd keys/s', d.keysPerSecond);
        push(c, 'd batch p99 ms', d.p99);
        push(c, 'd/a', d.keysPerSecond / a.rps);
      } else {
        const e = await load(proxyUrl, c, kmsBody, apiKey, proxyPid);
        problems += e.non2xx + e.errors;
        push(c, 'e rps', e.rps);
        push(c, 'b/e', b.rps / e.rps);
      }
      console.log(
        `round ${round} c=${c}: a ${a.rps.toFixed(0)} rps, b ${b.rps.toFixed(0)} (${(b.rps / a.rps).toFixed(2)}), c ${u.rps.toFixed(0)} (${(u.rps / a.rps).toFixed(2)}); ` +
          `cpu µs/req a ${a.cpuMicros.toFixed(1)} b ${b.cpuMicros.toFixed(1)} c ${u.cpuMicros.toFixed(1)}`,
      );
    }
  }
  const metrics = await metricsText(proxy.healthPort!);
  const rssEnd = rssAfterLoad(metrics);
  // And once the load has stopped for a while: the proxy gives back what the load grew after 10 s windows with the
  // event loop idle (IDLE_GC_SECONDS; src/idle-memory.ts), and the load's tail (stdout, the sink) takes a few more.
  // The settle time also runs the floor: the proxy's AWS adapter alone under (e)'s load, on the proxy's runtime.
  const [floor] = await Promise.all([
    kmsFloor(proxyNode, malloc.env, awsPayload(slowKey.arn), ROUNDS * SECONDS),
    new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000)),
  ]);
  const settledMetrics = await metricsText(proxy.healthPort!);
  const rssSettled = rssAfterLoad(settledMetrics);
  sink.process.send?.('count');
  const sinkEvents = await new Promise<number>((resolve) =>
    sink.process.once('message', (m: { events: number }) => resolve(m.events)),
  );

  console.log(`\n## results (${ROUNDS} rounds × ${SECONDS} s, interleaved; min / median / max)\n`);
  for (const c of [10, 100]) {
    console.log(`connections ${c}`);
    for (const [name, values] of Object.entries(rows[c]!))
      console.log(`  ${name.padEnd(16)} ${fmt(stats(values), name.includes('/') ? 2 : 0)}`);
  }
  const targets: [string, number, number[]][] = [
    ['(b) leased wrap / (a), c=10', 0.6, rows[10]!['b/a']!],
    ['(b) leased wrap / (a), c=100', 0.6, rows[100]!['b/a']!],
    ['(c) leased unwrap / (a), c=10', 0.65, rows[10]!['c/a']!],
    ['(c) leased unwrap / (a), c=100', 0.65, rows[100]!['c/a']!],
    ['(d) batch keys/s / (a) rps, c=10', 2.2, rows[10]!['d/a']!],
    ['(b) / (e) non-leased 20 ms KMS, c=100', 7, rows[100]!['b/e']!],
    ['(b) with events to a webhook sink / (a), c=10', 0.55, rows[10]!['b+sink/a']!],
    ['(b) / (a) by CPU time per request, c=10', 0.6, rows[10]!['b/a by cpu']!],
    ['(b) / (a) by CPU time per request, c=100', 0.6, rows[100]!['b/a by cpu']!],
    ['(c) / (a) by CPU time per request, c=10', 0.65, rows[10]!['c/a by cpu']!],
    ['(c) / (a) by CPU time per request, c=100', 0.65, rows[100]!['c/a by cpu']!],
    ['(b) with events to a webhook sink / (a) by CPU, c=10', 0.55, rows[10]!['b+sink/a by cpu']!],
  ];
  console.log('\n## targets');
  for (const [name, bar, values] of targets)
    console.log(`  ${verdict(stats(values), bar)}  ${name}: ${fmt(stats(values))} (bar ${bar})`);
  const p99Rows: [string, number[]][] = [
    ['(b) p99 / (a) p99, c=10', rows[10]!['b p99/a p99']!],
    ['(b) p99 / (a) p99, c=100', rows[100]!['b p99/a p99']!],
    ['(c) p99 / (a) p99, c=10', rows[10]!['c p99/a p99']!],
    ['(c) p99 / (a) p99, c=100', rows[100]!['c p99/a p99']!],
  ];
  for (const c of [10, 100]) {
    console.log(
      `  info  calibration c=${c}: the minimal stand-in reached ${fmt(stats(rows[c]!['stand-in/a']!))} of (a); the proxy ${fmt(stats(rows[c]!['b/stand-in']!))} of the stand-in`,
    );
  }
  for (const [name, values] of p99Rows) {
    const s = stats(values);
    console.log(
      `  ${s.median <= 1.5 ? 'PASS' : 'FAIL'}  ${name}: ${fmt(s)} (bar ≤ 1.5; autocannon reports whole milliseconds)`,
    );
  }
  console.log(
    `  ${coldKmsCalls === 1 ? 'PASS' : 'FAIL'}  cold start of one tenant under 200 concurrent wraps: ${coldKmsCalls} KMS call(s)`,
  );
  console.log(
    `  ${rssEnd < 150 ? 'PASS' : 'FAIL'}  RSS with ${TENANTS} tenants loaded: ${rssReady.toFixed(0)} MB when ready, ${rssEnd.toFixed(0)} MB after the load (bar < 150)`,
  );
  console.log(
    `  info  floor: the proxy's AWS adapter alone in a process on the same runtime, no tenants or HTTP, ${ROUNDS * SECONDS} s of (e)'s ` +
      `100 concurrent 20 ms Encrypts (${floor.callsPerSecond.toFixed(0)} calls/s, ${floor.failed} failed): RSS ` +
      `${(floor.rssBefore / 1048576).toFixed(0)} MB before, ${(floor.rss / 1048576).toFixed(0)} MB right after (V8 heap ` +
      `${(floor.heapTotal / 1048576).toFixed(0)} MB committed, ${(floor.heapUsed / 1048576).toFixed(0)} MB used)`,
  );
  console.log(
    `  info  RSS ${SETTLE_SECONDS} s after the load: ${rssSettled.toFixed(0)} MB (V8 heap ${mib(settledMetrics, 'tsp_nodejs_heap_size_total_bytes').toFixed(0)} MB committed); ` +
      `full GCs the proxy ran to give memory back (IDLE_GC_SECONDS; one when the snapshot was loaded, the rest at idle): ${counter(metrics, 'tsp_idle_gc_total')} until the load ended, ${counter(settledMetrics, 'tsp_idle_gc_total')} by then`,
  );
  console.log(
    `  info  after the load: V8 heap ${mib(metrics, 'tsp_nodejs_heap_size_total_bytes').toFixed(0)} MB committed, ` +
      `${mib(metrics, 'tsp_nodejs_heap_size_used_bytes').toFixed(0)} MB used; external ${mib(metrics, 'tsp_nodejs_external_memory_bytes').toFixed(0)} MB`,
  );
  console.log(
    `  ${readyMs < 5000 ? 'PASS' : 'FAIL'}  ready ${readyMs.toFixed(0)} ms after process start with ${TENANTS} tenants (bar < 5000)`,
  );
  console.log(
    `  info  events delivered to the webhook sink: ${sinkEvents}; non-2xx or errors during the load: ${problems}`,
  );
  // Every key operation emits an event: a benchmark that loses events is not measuring the product.
  const eventCounts = [
    ...metrics.matchAll(/^tsp_security_events_total\{outcome="(\w+)",sink="([\w-]+)"\} (\d+)/gm),
  ].map(([, outcome, sink, count]) => ({ outcome: outcome!, sink: sink!, count: Number(count) }));
  const dropped = eventCounts.filter((e) => e.outcome === 'dropped').reduce((sum, e) => sum + e.count, 0);
  const delivered = eventCounts.filter((e) => e.outcome === 'delivered').reduce((sum, e) => sum + e.count, 0);
  console.log(
    `  ${dropped === 0 ? 'PASS' : 'FAIL'}  security events: ${delivered} delivered, ${dropped} dropped (${eventCounts
      .filter((e) => e.count > 0)
      .map((e) => `${e.outcome} to ${e.sink} ${e.count}`)
      .join(', ')})`,
  );

  console.log(
    `  info  proxy stdout (security event lines of tenants without a logging config): ${(statSync(proxy.outFile).size / 1048576).toFixed(0)} MB`,
  );
  for (const child of [proxy, bare, standin, sink]) {
    child.process.kill('SIGTERM');
    rmSync(dirname(child.outFile), { recursive: true, force: true });
  }
  await broker.close();
  await emulators.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
