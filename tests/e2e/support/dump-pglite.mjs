// Prints every row of every table of a (stopped) broker's PGlite data directory as JSON lines, for the
// zero-knowledge test. Run as a plain Node process: PGlite's ESM build needs no jest transforms here.
import { PGlite } from '@electric-sql/pglite';

const db = new PGlite(process.argv[2]);
const tables = await db.query(
  "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1, 2",
);
for (const { table_schema: schema, table_name: name } of tables.rows) {
  const rows = await db.query(`select row_to_json(t)::text as j from "${schema}"."${name}" t`);
  for (const row of rows.rows) process.stdout.write(`${schema}.${name}\t${row.j}\n`);
}
await db.close();
