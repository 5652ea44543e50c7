// Operator commands: `npm run broker -- <command> [options]`.
//   create-vendor --name "Acme" --admin admin@acme.test   a vendor organization and its first admin
//   audit-verify --org <organization id>                   recompute an organization's audit hash chain
// With embedded PGlite (no DATABASE_URL) stop the broker first: one process at a time owns the data directory.
import { parseArgs } from 'node:util';
import { openDatabase } from '@/db/client';
import { getEnv } from '@/lib/env';
import { BrokerError } from '@/lib/errors';
import { uuidSchema } from '@/lib/validation';
import { verifyAuditChain } from '@/lib/server/audit';
import { noRequestMeta } from '@/lib/server/context';
import { createVendor } from '@/lib/server/organizations';

const usage = `usage:
  npm run broker -- create-vendor --name <name> --admin <e-mail>
  npm run broker -- audit-verify --org <organization id>`;

export async function runCli(argv: string[], out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, admin: { type: 'string' }, org: { type: 'string' } },
    strict: true,
  });
  if (command !== 'create-vendor' && command !== 'audit-verify') {
    out(usage);
    return 2;
  }
  const env = getEnv();
  const handle = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
  try {
    if (command === 'create-vendor') {
      const created = await createVendor(
        handle.db,
        { name: values.name ?? '', adminEmail: values.admin ?? '' },
        { type: 'system', id: null, label: 'broker-cli' },
        noRequestMeta,
      );
      out(`created vendor organization ${created.orgId}; ${values.admin} can now sign in at ${env.publicUrl}/sign-in`);
      return 0;
    }
    if (!values.org || !uuidSchema.safeParse(values.org).success) {
      out('--org must be an organization id (uuid)');
      return 2;
    }
    const result = await verifyAuditChain(handle.db, values.org);
    if (result.ok) {
      out(`audit chain intact: ${result.entries} entries`);
      return 0;
    }
    out(`audit chain BROKEN at entry ${result.firstBroken!.seq}: ${result.firstBroken!.reason} (${result.entries} entries)`);
    return 1;
  } catch (error) {
    if (error instanceof BrokerError) {
      const fields = Object.entries(error.fieldErrors ?? {}).map(([field, messages]) => `  ${field}: ${messages.join(', ')}`);
      out([error.fieldErrors ? 'invalid input:' : error.message, ...fields].join('\n'));
      return 2;
    }
    throw error;
  } finally {
    await handle.close();
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), (line) => console.log(line)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
