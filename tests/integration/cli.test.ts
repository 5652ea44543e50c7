import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { openDatabase, type DatabaseHandle } from '@/db/client';
import { auditEvents, memberships, organizations } from '@/db/schema';
import { resetEnvForTests } from '@/lib/env';
import { runCli } from '@/scripts/broker-cli';
import { createTestDatabase } from '../helpers/database';

// The operator CLI opens the database from the environment like the server does: a fresh PostgreSQL database when
// DATABASE_URL is set (CI's second run), otherwise PGlite in a temporary DATA_DIR.
let dataDir: string | undefined;
let pgTestDb: (DatabaseHandle & { url?: string }) | undefined;
const saved = { DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: process.env.DATA_DIR };

async function inspect<T>(fn: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  const handle = pgTestDb ?? (await openDatabase({ dataDir }));
  try {
    return await fn(handle);
  } finally {
    if (!pgTestDb) await handle.close();
  }
}

async function cli(...argv: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await runCli(argv, (line) => lines.push(line));
  return { code, output: lines.join('\n') };
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    pgTestDb = await createTestDatabase();
    process.env.DATABASE_URL = pgTestDb.url;
  } else {
    dataDir = mkdtempSync(path.join(tmpdir(), 'opencmk-cli-'));
    process.env.DATA_DIR = dataDir;
  }
  resetEnvForTests();
});

afterAll(async () => {
  process.env.DATABASE_URL = saved.DATABASE_URL;
  if (saved.DATABASE_URL === undefined) delete process.env.DATABASE_URL;
  process.env.DATA_DIR = saved.DATA_DIR;
  if (saved.DATA_DIR === undefined) delete process.env.DATA_DIR;
  resetEnvForTests();
  await pgTestDb?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

let orgId: string;

it('create-vendor creates the organization and its first admin, with audit entries', async () => {
  const { code, output } = await cli('create-vendor', '--name', 'Acme', '--admin', 'Admin@Acme.test');
  expect(code).toBe(0);
  orgId = /organization ([0-9a-f-]{36})/.exec(output)![1]!;
  await inspect(async ({ db }) => {
    const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
    expect(org).toMatchObject({ kind: 'vendor', name: 'Acme' });
    expect(await db.select().from(memberships).where(eq(memberships.orgId, orgId))).toHaveLength(1);
    const actions = (await db.select().from(auditEvents).where(eq(auditEvents.orgId, orgId))).map((e) => [e.action, e.actorLabel]);
    expect(actions).toEqual([
      ['organization.created', 'broker-cli'],
      ['admin.added', 'broker-cli'],
    ]);
  });
});

it('create-vendor reports bad input per field with exit code 2', async () => {
  const { code, output } = await cli('create-vendor', '--name', '', '--admin', 'nope');
  expect(code).toBe(2);
  expect(output).toContain('name: Enter a name');
  expect(output).toContain('adminEmail: Enter a valid e-mail address');
});

it('audit-verify reports an intact chain, then the first broken entry after tampering', async () => {
  expect(await cli('audit-verify', '--org', orgId)).toEqual({ code: 0, output: 'audit chain intact: 2 entries' });
  await inspect(({ db }) => db.update(auditEvents).set({ action: 'organization.deleted' }).where(eq(auditEvents.seq, 1)));
  expect(await cli('audit-verify', '--org', orgId)).toEqual({
    code: 1,
    output: 'audit chain BROKEN at entry 1: entry content does not match its hash (2 entries)',
  });
});

it('rejects unknown commands and malformed ids', async () => {
  expect((await cli('drop-everything')).code).toBe(2);
  expect(await cli('audit-verify', '--org', 'not-a-uuid')).toEqual({ code: 2, output: '--org must be an organization id (uuid)' });
  await expect(cli('create-vendor', '--bogus', 'x')).rejects.toThrow(/Unknown option/);
});
