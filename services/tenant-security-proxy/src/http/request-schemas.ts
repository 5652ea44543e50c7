import { z } from 'zod';

/** Request bodies of PROTOCOL.md §1.1–1.2. Optional metadata may be null (PHP, alloy) or absent (Node). */
const optionalString = z.string().nullish();

export const iclFieldsSchema = z.looseObject({
  requestingId: z.string().min(1, 'iclFields.requestingId is required'),
  dataLabel: optionalString,
  sourceIp: optionalString,
  objectId: optionalString,
  requestId: optionalString,
  event: optionalString,
});

const metadataShape = {
  tenantId: z.string().min(1, 'tenantId is required'),
  iclFields: iclFieldsSchema,
  // Go may send null: treated as no custom fields.
  customFields: z.record(z.string(), z.string()).nullish(),
};

export const wrapBodySchema = z.looseObject(metadataShape);
export const unwrapBodySchema = z.looseObject({ ...metadataShape, encryptedDocumentKey: z.string().min(1) });
export const batchWrapBodySchema = z.looseObject({ ...metadataShape, documentIds: z.array(z.string()).max(10000) });
/**
 * `edeks` is checked in place rather than copied: a copy made by assignment would turn a document id such as
 * "__proto__" into a prototype change and lose it, and every requested id must come back (PROTOCOL.md §1.2).
 */
const edeksSchema = z.custom<Record<string, string>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length <= 10000 &&
    Object.values(value as Record<string, unknown>).every((edek) => typeof edek === 'string'),
  'edeks must be an object of at most 10000 id → base64 EDEK strings',
);

export const batchUnwrapBodySchema = z.looseObject({ ...metadataShape, edeks: edeksSchema });
export const rekeyBodySchema = z.looseObject({
  ...metadataShape,
  encryptedDocumentKey: z.string().min(1),
  newTenantId: z.string().min(1),
});
export const securityEventBodySchema = z.looseObject({
  ...metadataShape,
  iclFields: iclFieldsSchema,
  event: z.string().nullish(),
  // Bounded to what a Date can represent (ECMA-262 §21.4.1.1), so formatting the event cannot throw later.
  timestampMillis: z.number().int().nonnegative().max(8.64e15).nullish(),
});
export const reportOperationsBodySchema = z.looseObject({
  ...metadataShape,
  operations: z.record(
    z.string(),
    z.looseObject({
      wraps: z.number().int().nonnegative().optional(),
      unwraps: z.number().int().nonnegative().optional(),
    }),
  ),
});

const FIXED_EVENTS = new Set([
  ...[
    'ADD',
    'SUSPEND',
    'REMOVE',
    'LOGIN',
    'TIMEOUT_SESSION',
    'LOCKOUT',
    'LOGOUT',
    'CHANGE_PERMISSIONS',
    'EXPIRE_PASSWORD',
    'RESET_PASSWORD',
    'CHANGE_PASSWORD',
    'REJECT_LOGIN',
    'ENABLE_TWO_FACTOR',
    'DISABLE_TWO_FACTOR',
    'CHANGE_EMAIL',
    'REQUEST_EMAIL_VERIFICATION',
    'VERIFY_EMAIL',
  ].map((n) => `USER_${n}`),
  ...['IMPORT', 'EXPORT', 'ENCRYPT', 'DECRYPT', 'CREATE', 'DELETE', 'DENY_ACCESS', 'CHANGE_PERMISSIONS'].map(
    (n) => `DATA_${n}`,
  ),
  ...['ADD', 'REMOVE', 'CHANGE_PERMISSIONS', 'CHANGE_SETTING'].map((n) => `ADMIN_${n}`),
  'PERIODIC_ENFORCE_RETENTION_POLICY',
  'PERIODIC_CREATE_BACKUP',
  // The Go client omits the PERIODIC_ prefix.
  'ENFORCE_RETENTION_POLICY',
  'CREATE_BACKUP',
]);
const CUSTOM_EVENT = /^CUSTOM_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;

/** The event names IronCore's clients send (PROTOCOL.md §1.2); anything else is rejected with 301. */
export function isKnownSecurityEvent(name: string): boolean {
  return FIXED_EVENTS.has(name) || CUSTOM_EVENT.test(name);
}
