import { canonicalJson, GENESIS_HASH, hashAuditEntry, toCsv, toJsonLines, type AuditRow } from '@/lib/server/audit';

const entry = {
  orgId: '11111111-1111-4111-8111-111111111111',
  seq: 1,
  occurredAt: new Date('2026-11-22T09:00:00.123Z'),
  actorType: 'user' as const,
  actorId: 'u1',
  actorLabel: 'admin@acme.test',
  action: 'tenant.invited',
  targetType: 'tenant',
  targetId: 't1',
  tenantId: null,
  details: { b: 1, a: { y: [1, 2], x: null } },
  ip: '203.0.113.1',
  userAgent: 'ua',
  prevHash: GENESIS_HASH,
};

describe('audit entry hash', () => {
  it('does not depend on key order (jsonb reorders keys)', () => {
    expect(canonicalJson({ b: 1, a: { y: 2, x: 1 } })).toBe('{"a":{"x":1,"y":2},"b":1}');
    expect(hashAuditEntry(entry)).toBe(hashAuditEntry({ ...entry, details: { a: { x: null, y: [1, 2] }, b: 1 } }));
  });

  it('changes when any recorded field or the previous hash changes', () => {
    const base = hashAuditEntry(entry);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const variants: Partial<typeof entry>[] = [
      { seq: 2 },
      { occurredAt: new Date('2026-11-22T09:00:00.124Z') },
      { actorLabel: 'someone@else.test' },
      { action: 'tenant.archived' },
      { targetId: 't2' },
      { details: { b: 2, a: { y: [1, 2], x: null } } },
      { ip: '203.0.113.2' },
      { userAgent: 'other' },
      { prevHash: 'f'.repeat(64) },
    ];
    for (const variant of variants) expect(hashAuditEntry({ ...entry, ...variant })).not.toBe(base);
  });
});

describe('exports', () => {
  const row: AuditRow = { ...entry, id: 7, hash: 'h', orgName: 'Acme, "Inc"', details: { note: '=HYPERLINK("x")' }, actorLabel: '@evil' };

  it('CSV quotes per RFC 4180 and defuses spreadsheet formulas', () => {
    const [header, line] = toCsv([row]).split('\r\n');
    expect(header).toBe('id,organization,seq,occurredAt,actorType,actorId,actorLabel,action,targetType,targetId,tenantId,ip,userAgent,details,prevHash,hash');
    expect(line).toContain('"Acme, ""Inc"""');
    expect(line).toContain(",'@evil,");
    expect(line).toContain('"{""note"":""=HYPERLINK(\\""x\\"")""}"');
  });

  it('JSON lines: one parseable object per entry', () => {
    const text = toJsonLines([row, { ...row, id: 8 }]);
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.id)).toEqual([7, 8]);
    expect(lines[0].occurredAt).toBe('2026-11-22T09:00:00.123Z');
    expect(toJsonLines([])).toBe('');
  });
});
