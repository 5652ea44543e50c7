/**
 * Broker benchmark, part 1: the proxy snapshot API for a vendor with 10,000 tenant KMS configs (BENCH_TENANTS), over
 * real HTTP (node:http running the same route handler Next.js runs) on an in-memory PGlite, or on PostgreSQL when
 * DATABASE_URL is set (a fresh database on that server, dropped afterwards).
 *
 * Measured in interleaved rounds: a no-op route on the same server (baseline: HTTP + Request/Response overhead),
 * the 304 path (If-None-Match = current ETag), a 200 for an already built version (another proxy of the pool), a
 * 200 right after a change (changed tenants re-read), a 200 on a broker instance that just started (nothing in
 * memory: the sections stored by earlier builds are read back), and the long-poll wake-up after a status
 * change made through this broker instance (in-process notification) or by another instance (a plain UPDATE of the
 * version, found by the 250 ms poll).
 *
 *   npm run bench:broker     (BENCH_TENANTS=1000 BENCH_ROUNDS=3 for a quick run)
 */
import { eq, sql } from 'drizzle-orm';
import { Client } from 'pg';
import { base64UrlEncode, generateKeyPair, keyId, seal, utf8Encode } from '@opencmk/crypto';
import { openDatabase, setDatabaseForTests } from '@/db/client';
import { kmsConfigs, memberships, organizations, proxyConfigs, sealedConfigCopies, tenants, vendorKeys } from '@/db/schema';
import { GET as snapshotRoute } from '@/app/api/proxy/v1/snapshot/route';
import { generateProxyConfig, tenantConfigContext } from '@/lib/browser-sealing';
import { activateProxyConfig, createProxyConfig } from '@/lib/server/proxy-configs';
import { forgetBuiltSnapshots, settleSnapshotAudits } from '@/lib/server/proxy-api';
import { setTenantConfigStatus } from '@/lib/server/tenant-configs';
import { createVendor } from '@/lib/server/organizations';
import { requireOrgAdmin } from '@/lib/server/org-scope';
import { findOrCreateUserByEmail } from '@/lib/server/users';
import { startRouteServer } from '../helpers/route-server';
import { fmt, median, percentile, summary } from './bench-stats';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const meta = { ip: '127.0.0.1', userAgent: 'bench' };

async function main() {
  // In-memory PGlite by default; with DATABASE_URL a fresh database on that PostgreSQL server, dropped at the end.
  const serverUrl = process.env.DATABASE_URL;
  const benchDb = `opencmk_bench_${Date.now()}`;
  let databaseUrl: string | undefined;
  if (serverUrl) {
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${benchDb}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${benchDb}`;
    databaseUrl = url.toString();
  }
  const handle = await openDatabase(databaseUrl ? { databaseUrl } : { dataDir: 'memory://' });
  setDatabaseForTests(handle);
  const { db } = handle;
  const started = performance.now();
  const { orgId: vendorId, adminUserId } = await createVendor(db, { name: 'Bench vendor', adminEmail: 'admin@bench.test' }, { type: 'system', id: null, label: 'bench' }, meta);
  const vendorCtx = { db, scope: await requireOrgAdmin(db, { id: adminUserId, email: 'admin@bench.test', name: null }, vendorId), meta };
  const vendorPair = generateKeyPair();
  await db.insert(vendorKeys).values({ orgId: vendorId, publicKey: base64UrlEncode(vendorPair.publicKey), keyId: keyId(vendorPair.publicKey) });
  const proxy = await generateProxyConfig({ name: 'bench pod', brokerUrl: 'http://127.0.0.1', vendorId, vendorPublicKey: base64UrlEncode(vendorPair.publicKey) });
  await createProxyConfig(vendorCtx, { id: proxy.id, name: 'bench pod', publicKey: proxy.publicKey, tokenHash: proxy.tokenHash, sealedEnv: proxy.sealedEnv });
  await activateProxyConfig(vendorCtx, proxy.id);
  const [proxyRow] = await db.select().from(proxyConfigs).where(eq(proxyConfigs.id, proxy.id));
  const proxyKey = Buffer.from(proxy.publicKey, 'base64url');

  // 10,000 accepted tenants with one sealed AWS config each (real seals to the proxy's key, ~300-byte payloads).
  const payload = (i: number) =>
    utf8Encode(JSON.stringify({ provider: 'aws', keyArn: `arn:aws:kms:us-east-1:111122223333:key/${String(i).padStart(8, '0')}-1234-4234-8234-123456789012`, region: 'us-east-1', roleArn: 'arn:aws:iam::111122223333:role/tenant-role', externalId: `ext-${i}` }));
  for (let offset = 0; offset < TENANTS; offset += 1000) {
    const count = Math.min(1000, TENANTS - offset);
    const orgs = await db
      .insert(organizations)
      .values(Array.from({ length: count }, (_, j) => ({ kind: 'tenant' as const, name: `Tenant ${offset + j}`, vendorOrgId: vendorId })))
      .returning({ id: organizations.id });
    const tenantRows = await db
      .insert(tenants)
      .values(orgs.map((org, j) => ({ orgId: vendorId, vendorTenantId: `tenant-${offset + j}`, displayName: `Tenant ${offset + j}`, adminEmail: `t${offset + j}@bench.test`, status: 'active' as const, tenantOrgId: org.id })))
      .returning({ id: tenants.id, tenantOrgId: tenants.tenantOrgId, vendorTenantId: tenants.vendorTenantId });
    const configs = await db
      .insert(kmsConfigs)
      .values(tenantRows.map((t, j) => ({ orgId: t.tenantOrgId!, vendorOrgId: vendorId, tenantId: t.id, provider: 'aws' as const, label: `key ${offset + j}`, status: 'primary' as const, fingerprint: 'f'.repeat(32) })))
      .returning({ id: kmsConfigs.id, tenantId: kmsConfigs.tenantId });
    const tenantIdOf = new Map(tenantRows.map((t) => [t.id, t.vendorTenantId]));
    await db.insert(sealedConfigCopies).values(
      configs.map((config, j) => ({
        kind: 'kms' as const,
        configId: config.id,
        recipientKeyId: proxyRow!.keyId,
        configVersion: 1,
        vendorOrgId: vendorId,
        blob: seal(payload(offset + j), proxyKey, tenantConfigContext('kms', vendorId, tenantIdOf.get(config.tenantId)!, config.id, 1)),
      })),
    );
  }
  // Tenant 0 gets a second config whose status the benchmark toggles, through its admin's scope.
  const [first] = await db.select().from(tenants).where(eq(tenants.vendorTenantId, 'tenant-0'));
  const tenantAdmin = await findOrCreateUserByEmail(db, 't0@bench.test');
  await db.insert(memberships).values({ orgId: first!.tenantOrgId!, userId: tenantAdmin.id });
  const tenantCtx = { db, scope: await requireOrgAdmin(db, { id: tenantAdmin.id, email: 't0@bench.test', name: null }, first!.tenantOrgId!), meta };
  const [toggled] = await db
    .insert(kmsConfigs)
    .values({ orgId: first!.tenantOrgId!, vendorOrgId: vendorId, tenantId: first!.id, provider: 'aws', label: 'toggled', status: 'active', fingerprint: 'e'.repeat(32) })
    .returning();
  await db.insert(sealedConfigCopies).values({ kind: 'kms', configId: toggled!.id, recipientKeyId: proxyRow!.keyId, configVersion: 1, vendorOrgId: vendorId, blob: seal(payload(-1), proxyKey, tenantConfigContext('kms', vendorId, 'tenant-0', toggled!.id, 1)) });
  let toggledActive = true;
  const toggle = async () => {
    toggledActive = !toggledActive;
    await setTenantConfigStatus(tenantCtx, 'kms', String(toggled!.id), { status: toggledActive ? 'active' : 'disabled' });
  };
  console.log(`seeded ${TENANTS} tenants with sealed configs in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const server = await startRouteServer([
    { method: 'GET', pattern: /^\/api\/proxy\/v1\/snapshot$/, handler: snapshotRoute as never },
    { method: 'GET', pattern: /^\/noop$/, handler: async () => new Response('{}', { headers: { 'content-type': 'application/json' } }) },
  ]);
  const auth = { authorization: `Bearer ${proxy.brokerToken}` };
  const timed = async (url: string, headers: Record<string, string> = {}) => {
    const t0 = performance.now();
    const response = await fetch(url, { headers: { ...auth, ...headers } });
    const body = await response.text();
    return { ms: performance.now() - t0, status: response.status, etag: response.headers.get('etag'), bytes: body.length };
  };
  const snapshotUrl = `${server.url}/api/proxy/v1/snapshot`;

  // Warm-up: first build, the 10,000 audit records of the first fetch, JIT.
  const firstBuild = await timed(snapshotUrl);
  let etag = firstBuild.etag!;
  console.log(`first build ever (nothing built or stored yet): ${fmt(firstBuild.ms)} ms`);
  await settleSnapshotAudits();
  for (let i = 0; i < 5; i++) {
    await timed(`${server.url}/noop`);
    await timed(snapshotUrl, { 'if-none-match': etag });
  }

  const samples: Record<string, number[]> = { baseline: [], notModified: [], built: [], rebuilt: [], fullBuild: [], wakeInProcess: [], wakeOtherInstance: [] };
  const perRound: Record<string, number[]> = { notModified: [], built: [], rebuilt: [], fullBuild: [] };
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const roundSamples: Record<string, number[]> = { baseline: [], notModified: [], built: [], rebuilt: [], fullBuild: [] };
    const steps: (() => Promise<void>)[] = [
      async () => {
        for (let i = 0; i < 20; i++) roundSamples.baseline!.push((await timed(`${server.url}/noop`)).ms);
      },
      async () => {
        for (let i = 0; i < 20; i++) {
          const r = await timed(snapshotUrl, { 'if-none-match': etag });
          if (r.status !== 304) throw new Error(`expected 304, got ${r.status}`);
          roundSamples.notModified!.push(r.ms);
        }
      },
      async () => {
        for (let i = 0; i < 5; i++) {
          const r = await timed(snapshotUrl);
          bytes = r.bytes;
          roundSamples.built!.push(r.ms);
        }
      },
      async () => {
        for (let i = 0; i < 3; i++) {
          await toggle();
          const r = await timed(snapshotUrl);
          etag = r.etag!;
          roundSamples.rebuilt!.push(r.ms);
          await settleSnapshotAudits();
        }
      },
      async () => {
        for (let i = 0; i < 2; i++) {
          forgetBuiltSnapshots();
          roundSamples.fullBuild!.push((await timed(snapshotUrl)).ms);
        }
      },
      async () => {
        for (let i = 0; i < 3; i++) {
          const waiting = timed(`${snapshotUrl}?wait=25`, { 'if-none-match': etag });
          await new Promise((resolve) => setTimeout(resolve, 150));
          const t0 = performance.now();
          await toggle();
          const r = await waiting;
          if (r.status !== 200) throw new Error(`long-poll answered ${r.status}`);
          samples.wakeInProcess!.push(performance.now() - t0);
          etag = r.etag!;
          await settleSnapshotAudits();
        }
      },
      async () => {
        for (let i = 0; i < 2; i++) {
          const waiting = timed(`${snapshotUrl}?wait=25`, { 'if-none-match': etag });
          await new Promise((resolve) => setTimeout(resolve, 150));
          const t0 = performance.now();
          // What another broker instance's change looks like here: the version moves, no in-process event.
          await db.update(proxyConfigs).set({ snapshotVersion: sql`${proxyConfigs.snapshotVersion} + 1` }).where(eq(proxyConfigs.id, proxy.id));
          const r = await waiting;
          samples.wakeOtherInstance!.push(performance.now() - t0);
          etag = r.etag!;
          await settleSnapshotAudits();
        }
      },
    ];
    // Rotate the order every round so no case always runs after the same neighbour.
    for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]!();
    for (const [name, values] of Object.entries(roundSamples)) samples[name]!.push(...values);
    const base = median(roundSamples.baseline!);
    for (const name of ['notModified', 'built', 'rebuilt', 'fullBuild']) perRound[name]!.push(median(roundSamples[name]!) / base);
    console.log(`round ${round + 1}/${ROUNDS}: baseline ${fmt(base)} ms, 304 ${fmt(median(roundSamples.notModified!))} ms, rebuilt ${fmt(median(roundSamples.rebuilt!))} ms`);
  }
  await server.close();
  await handle.close();
  if (serverUrl) {
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${benchDb}`);
    await admin.end();
  }

  const row = (name: string, label: string, target: string, ok?: boolean) =>
    `| ${label} | ${samples[name]!.length} | ${summary(samples[name]!)} | ${fmt(percentile(samples[name]!, 50))} | ${fmt(percentile(samples[name]!, 99))} | ${target} | ${ok === undefined ? '—' : ok ? 'met' : 'NOT met'} |`;
  const lines = [
    `Snapshot API on ${serverUrl ? 'PostgreSQL' : 'PGlite'}, ${TENANTS} tenant configs (snapshot ${(bytes / 1e6).toFixed(2)} MB), ${ROUNDS} interleaved rounds, Node ${process.version}`,
    '',
    '| case | n | ms min / median / max | p50 | p99 | target | result |',
    '|---|---:|---|---:|---:|---|---|',
    row('baseline', 'no-op route, same server (baseline)', '—'),
    row('notModified', '304 (If-None-Match current)', 'p50 < 10 ms', percentile(samples.notModified!, 50) < 10),
    row('built', '200, version already built', '—'),
    row('rebuilt', '200 right after a change (changed tenants re-read)', 'p50 < 200 ms', percentile(samples.rebuilt!, 50) < 200),
    row('fullBuild', '200 on a new broker instance (nothing in memory; sections stored)', 'p50 < 200 ms', percentile(samples.fullBuild!, 50) < 200),
    row('wakeInProcess', 'long-poll wake-up, change on this instance', 'p99 < 1 s', percentile(samples.wakeInProcess!, 99) < 1000),
    row('wakeOtherInstance', 'long-poll wake-up, change on another instance (poll)', 'p99 < 1 s', percentile(samples.wakeOtherInstance!, 99) < 1000),
    '',
    '| ratio to the no-op route (per round) | min / median / max |',
    '|---|---|',
    `| 304 | ${summary(perRound.notModified!)} |`,
    `| 200, already built | ${summary(perRound.built!)} |`,
    `| 200, rebuilt | ${summary(perRound.rebuilt!)} |`,
    `| 200, new instance | ${summary(perRound.fullBuild!)} |`,
  ];
  console.log(lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
