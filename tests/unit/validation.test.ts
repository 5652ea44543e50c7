import { auditFilterSchema, emailSchema, inviteTenantSchema, vendorTenantIdSchema } from '@/lib/validation';
import { safeCallbackPath } from '@/lib/safe-redirect';

describe('vendor tenant id', () => {
  it.each([['a'], ['x'.repeat(128)], ['tenant-ü-東京'], ['with inner space'], ['!#$%&()*+,./:;<=>?@[]^_`{|}~']])('accepts %p', (id) => {
    expect(vendorTenantIdSchema.safeParse(id).success).toBe(true);
  });
  it.each([[''], ['x'.repeat(129)], [' lead'], ['trail '], ['tab\there'], ['line\nbreak'], ['nul\u0000'], ['zero\u200bwidth'], [42], [null]])(
    'rejects %p',
    (id) => {
      expect(vendorTenantIdSchema.safeParse(id).success).toBe(false);
    },
  );
});

describe('e-mail', () => {
  it('trims and lower-cases, rejects non-addresses', () => {
    expect(emailSchema.parse('  Admin@Acme.TEST ')).toBe('admin@acme.test');
    for (const bad of ['', 'no-at', 'a@', '@b.test', 'a b@c.test', `${'x'.repeat(250)}@b.test`]) {
      expect(emailSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe('invite tenant form', () => {
  it('reports every bad field at once', () => {
    const result = inviteTenantSchema.safeParse({ vendorTenantId: '', displayName: ' ', adminEmail: 'x' });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path[0]).sort()).toEqual(['adminEmail', 'displayName', 'vendorTenantId']);
  });
});

describe('audit filter', () => {
  it('parses dates, bounds the page size and drops empty values', () => {
    const parsed = auditFilterSchema.parse({ action: '', actor: ' bob ', from: '2026-01-02T03:04', limit: '50' });
    expect(parsed).toMatchObject({ action: undefined, actor: 'bob', limit: 50 });
    expect(parsed.from).toBeInstanceOf(Date);
    expect(auditFilterSchema.safeParse({ from: 'not a date' }).success).toBe(false);
    expect(auditFilterSchema.safeParse({ limit: '501' }).success).toBe(false);
  });
});

describe('post-sign-in redirect', () => {
  it('keeps same-site paths and drops everything else', () => {
    expect(safeCallbackPath('/invite/ocmk_inv_x')).toBe('/invite/ocmk_inv_x');
    for (const bad of ['https://evil.test/', '//evil.test', '/\\evil.test', 'javascript:alert(1)', undefined, 42, '/'.repeat(501)]) {
      expect(safeCallbackPath(bad)).toBe('/');
    }
  });
});
