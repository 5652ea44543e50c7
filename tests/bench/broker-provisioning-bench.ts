/**
 * Broker benchmark, part 2: provisioning a new proxy configuration for 1,000 tenant configs in Chromium (Debian's
 * /usr/bin/chromium through playwright-core) against the production build (scripts/start.mjs, PGlite in a fresh
 * data directory). A round is the whole user-visible operation: click "Create and download .env", then the browser
 * generates the configuration, opens each vendor-key copy and seals it to the new key in batches of 200, and the
 * configuration turns active. Baseline, interleaved: the same 1,000 opens and seals in this Node process (the
 * operation's cryptography without the browser, the broker or the network).
 *
 *   npm run bench:broker      (BENCH_PROVISION_CONFIGS=200 BENCH_PROVISION_ROUNDS=2 for a quick run)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium } from '../helpers/chromium';
import { base64UrlEncode, generateKeyPair, keyId, open, protectPrivateKey, seal, utf8Encode } from '@opencmk/crypto';
import { openDatabase } from '@/db/client';
import { kmsConfigs, organizations, sealedConfigCopies, sessions, tenants } from '@/db/schema';
import { vendorGrantContext, tenantConfigContext } from '@/lib/browser-sealing';
import { createVendorKey, registerAdminKey } from '@/lib/server/broker-keys';
import { createVendor } from '@/lib/server/organizations';
import { requireOrgAdmin } from '@/lib/server/org-scope';
import { freePort, startProcess } from '../helpers/processes';
import { fmt, median, summary } from './bench-stats';

const CONFIGS = Number(process.env.BENCH_PROVISION_CONFIGS ?? 1000);
const ROUNDS = Number(process.env.BENCH_PROVISION_ROUNDS ?? 3);
const PASSPHRASE = 'benchmark passphrase with several words 42';
const meta = { ip: '127.0.0.1', userAgent: 'bench' };

async function main() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'opencmk-bench-provision-'));
  const handle = await openDatabase({ dataDir });
  const { db } = handle;
  const { orgId: vendorId, adminUserId } = await createVendor(db, { name: 'Bench vendor', adminEmail: 'admin@bench.test' }, { type: 'system', id: null, label: 'bench' }, meta);
  const ctx = { db, scope: await requireOrgAdmin(db, { id: adminUserId, email: 'admin@bench.test', name: null }, vendorId), meta };
  const admin = generateKeyPair();
  await registerAdminKey(ctx, { publicKey: base64UrlEncode(admin.publicKey), protectedPrivateKey: await protectPrivateKey(admin.privateKey, PASSPHRASE) });
  const vendor = generateKeyPair();
  await createVendorKey(ctx, { publicKey: base64UrlEncode(vendor.publicKey), sealedGrant: seal(vendor.privateKey, admin.publicKey, vendorGrantContext(vendorId, adminUserId)) });
  const vendorKeyId = keyId(vendor.publicKey);
  const payloads: { blob: string; context: ReturnType<typeof tenantConfigContext> }[] = [];
  for (let offset = 0; offset < CONFIGS; offset += 500) {
    const count = Math.min(500, CONFIGS - offset);
    const orgs = await db.insert(organizations).values(Array.from({ length: count }, (_, j) => ({ kind: 'tenant' as const, name: `Tenant ${offset + j}`, vendorOrgId: vendorId }))).returning({ id: organizations.id });
    const tenantRows = await db
      .insert(tenants)
      .values(orgs.map((org, j) => ({ orgId: vendorId, vendorTenantId: `tenant-${offset + j}`, displayName: `T${offset + j}`, adminEmail: `t${offset + j}@bench.test`, status: 'active' as const, tenantOrgId: org.id })))
      .returning();
    const configs = await db
      .insert(kmsConfigs)
      .values(tenantRows.map((t, j) => ({ orgId: t.tenantOrgId!, vendorOrgId: vendorId, tenantId: t.id, provider: 'aws' as const, label: `key ${offset + j}`, status: 'primary' as const, fingerprint: 'f'.repeat(32) })))
      .returning();
    const rows = configs.map((config, j) => {
      const context = tenantConfigContext('kms', vendorId, tenantRows[j]!.vendorTenantId, config.id, 1);
      const payload = utf8Encode(JSON.stringify({ provider: 'aws', keyArn: `arn:aws:kms:us-east-1:111122223333:key/${String(offset + j).padStart(8, '0')}-1234-4234-8234-123456789012`, region: 'us-east-1', externalId: `ext-${offset + j}` }));
      const blob = seal(payload, vendor.publicKey, context);
      payloads.push({ blob, context });
      return { kind: 'kms' as const, configId: config.id, recipientKeyId: vendorKeyId, configVersion: 1, vendorOrgId: vendorId, blob };
    });
    await db.insert(sealedConfigCopies).values(rows);
  }
  const sessionToken = randomBytes(32).toString('hex');
  await db.insert(sessions).values({ sessionToken, userId: adminUserId, expires: new Date(Date.now() + 3_600_000) });
  await handle.close();

  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const { DATABASE_URL: _d, SMTP_URL: _s, NODE_ENV: _n, ...inherited } = process.env;
  const broker = await startProcess(
    process.execPath,
    [path.join(process.cwd(), 'scripts/start.mjs')],
    { ...inherited, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, BROKER_URL: baseUrl, AUTH_SECRET: randomBytes(32).toString('base64url'), OPENCMK_DEMO: '1', NEXT_TELEMETRY_DISABLED: '1' },
    /Configuration Broker: http/,
    600_000,
  );
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ baseURL: baseUrl, acceptDownloads: true });
    await context.addCookies([{ name: 'authjs.session-token', value: sessionToken, domain: 'localhost', path: '/' }]);
    const page = await context.newPage();
    page.setDefaultTimeout(120_000);
    await page.goto(`/orgs/${vendorId}/proxy-configs`);
    await page.getByLabel('Encryption passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock keys' }).click();
    await page.locator('[data-keys-unlocked]').waitFor();

    const browserMs: number[] = [];
    const floorMs: number[] = [];
    const target = generateKeyPair();
    const floor = () => {
      const t0 = performance.now();
      for (const { blob, context: sealContext } of payloads) seal(open(blob, vendor.privateKey, sealContext), target.publicKey, sealContext);
      return performance.now() - t0;
    };
    floor(); // JIT warm-up
    for (let round = 0; round < ROUNDS; round++) {
      floorMs.push(floor());
      const name = `bench pod ${round + 1}`;
      await page.getByLabel('Name').fill(name);
      const t0 = performance.now();
      await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Create and download .env' }).click()]);
      await page.locator(`tr[data-proxy-config="${name}"][data-status="active"]`).waitFor();
      browserMs.push(performance.now() - t0);
      console.log(`round ${round + 1}/${ROUNDS}: Chromium ${fmt(browserMs.at(-1)!)} ms, Node baseline ${fmt(floorMs.at(-1)!)} ms`);
    }
    const ratios = browserMs.map((ms, i) => ms / floorMs[i]!);
    console.log(
      [
        `Provisioning a new proxy configuration for ${CONFIGS} tenant configs, ${ROUNDS} rounds`,
        '',
        '| case | ms min / median / max | target | result |',
        '|---|---|---|---|',
        `| Chromium: create → every config sealed → active | ${summary(browserMs)} | < 10 s | ${median(browserMs) < 10_000 ? 'met' : 'NOT met'} |`,
        `| Node, this process: the same ${CONFIGS} opens + seals (baseline) | ${summary(floorMs)} | — | — |`,
        `| ratio Chromium ÷ baseline (per round) | ${summary(ratios)} | — | — |`,
      ].join('\n'),
    );
  } finally {
    await browser.close();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
