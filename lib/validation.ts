import { z } from 'zod';

/** Input rules shared by forms, route handlers and the CLI. */

export const emailSchema = z
  .string({ error: 'Enter an e-mail address' })
  .trim()
  .min(1, 'Enter an e-mail address')
  .max(254, 'At most 254 characters')
  .pipe(z.email({ error: 'Enter a valid e-mail address' }))
  .transform((email) => email.toLowerCase());

// The vendor's tenant id travels in every client call: printable ASCII and Unicode, no control characters, no
// leading/trailing space, 1–128 characters.
export const vendorTenantIdSchema = z
  .string({ error: 'Enter the tenant id' })
  .min(1, 'Enter the tenant id')
  .max(128, 'At most 128 characters')
  .refine((value) => value === value.trim(), 'No leading or trailing spaces')
  .refine((value) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value), 'Only printable characters');

export const displayNameSchema = z
  .string({ error: 'Enter a name' })
  .trim()
  .min(1, 'Enter a name')
  .max(200, 'At most 200 characters')
  .refine((value) => !/[\p{Cc}]/u.test(value), 'Only printable characters');

export const uuidSchema = z.uuid({ error: 'Not a valid id' });

export const inviteTenantSchema = z.object({
  vendorTenantId: vendorTenantIdSchema,
  displayName: displayNameSchema,
  adminEmail: emailSchema,
});
export type InviteTenantInput = z.infer<typeof inviteTenantSchema>;

export const inviteAdminSchema = z.object({ email: emailSchema });

export const createVendorSchema = z.object({ name: displayNameSchema, adminEmail: emailSchema });
export type CreateVendorInput = z.infer<typeof createVendorSchema>;

export const tenantListFilterSchema = z.object({
  q: z.string().trim().max(200).optional().default(''),
  status: z.enum(['all', 'invited', 'revoked', 'active', 'archived']).optional().default('all'),
});

const optionalDate = z
  .string()
  .trim()
  .optional()
  .transform((value, ctx) => {
    if (!value) return undefined;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'Not a valid date' });
      return z.NEVER;
    }
    return date;
  });

export const auditFilterSchema = z.object({
  action: z.string().trim().max(100).optional().transform((v) => v || undefined),
  actor: z.string().trim().max(254).optional().transform((v) => v || undefined),
  from: optionalDate,
  to: optionalDate,
  limit: z.coerce.number().int().min(1).max(500).optional().default(100),
  before: z.coerce.number().int().positive().optional(),
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;

/** zod issues -> { field: [messages] } for errors shown next to each form field. */
export function fieldErrorsOf(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join('.') : '_form';
    (out[key] ??= []).push(issue.message);
  }
  return out;
}
