// Floor for the RSS target: the proxy's own AWS KMS adapter (dist/kms/registry.js, the one the proxy runs), alone in
// a process, doing the benchmark's non-leased load (e): `connections` concurrent Encrypts of fresh 32-byte DEKs for
// `seconds`, against the emulator's slow key. No tenants, no HTTP server, no leases, no events. Started on the
// proxy's node, allocator and flags, so its RSS right after the load is what the AWS SDK alone costs under (e).
// Prints one JSON line: calls per second, RSS and V8 heap (bytes), and failed calls.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KmsAdapterRegistry } from '../dist/kms/registry.js';

const { config, connections, seconds } = JSON.parse(process.argv[2]);
// The proxy's policy as the benchmark starts it: KMS_TIMEOUT_MS=5000 and config.ts's defaultTuning (3 attempts, 50 ms
// backoff), written out: importing config.js would load zod and more into the process whose memory this measures.
const registry = new KmsAdapterRegistry(
  { timeoutMs: 5000, maxAttempts: 3, retryBaseMs: 50, extraCa: undefined },
  () => undefined,
);
const adapter = await registry.get(config);
const context = { tenantId: 'bench-kms', kmsConfigId: 2 };
const rssBefore = resident();
let calls = 0;
let failed = 0;
const started = performance.now();
const end = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (Date.now() < end) {
      try {
        await adapter.wrap(randomBytes(32), context);
        calls++;
      } catch {
        failed++;
      }
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const { heapTotal, heapUsed } = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ callsPerSecond: calls / elapsed, failed, rssBefore, rss: resident(), heapTotal, heapUsed })}\n`,
);
await registry.close();
process.exit(0);

/** Resident bytes, as the proxy's tsp_process_resident_memory_bytes reads them (/proc/self/status VmRSS). */
function resident() {
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib) * 1024;
}
