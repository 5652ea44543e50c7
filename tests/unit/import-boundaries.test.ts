import { spawnSync } from 'node:child_process';
import path from 'node:path';

// The real ESLint CLI with the repository's flat config, on virtual files given through stdin.
const root = path.resolve(__dirname, '..', '..');
const eslintBin = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

function lint(filePath: string, code: string): { ruleId: string | null; message: string }[] {
  const result = spawnSync(process.execPath, [eslintBin, '--stdin', '--stdin-filename', filePath, '--format', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [report] = JSON.parse(result.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return report!.messages;
}

describe('client island import boundary', () => {
  it('forbids an island to import db/, lib/server/, server-only, drivers and Node built-ins', () => {
    const messages = lint(
      'components/islands/leaky-form.tsx',
      [
        "'use client';",
        "import 'server-only';",
        "import { getDb } from '@/db/client';",
        "import { inviteTenant } from '@/lib/server/tenants';",
        "import { Pool } from 'pg';",
        "import { createHash } from 'node:crypto';",
        "import { Button } from '@/components/ui';",
        'export const x = [getDb, inviteTenant, Pool, createHash, Button];',
      ].join('\n'),
    );
    const restricted = messages.filter((m) => m.ruleId === 'no-restricted-imports');
    expect(restricted).toHaveLength(5);
    expect(restricted.map((m) => m.message).join('\n')).toMatch(/db\//);
  }, 60_000);

  it("puts 'use client' only in island files", () => {
    const misplaced = lint('components/widget.tsx', "'use client';\nexport const y = 1;\n");
    expect(misplaced.map((m) => m.ruleId)).toContain('opencmk/use-client-location');
    const island = lint('app/orgs/something-island.tsx', "'use client';\nimport { Button } from '@/components/ui';\nexport const z = Button;\n");
    expect(island.filter((m) => m.ruleId === 'opencmk/use-client-location' || m.ruleId === 'no-restricted-imports')).toEqual([]);
  }, 60_000);
});
