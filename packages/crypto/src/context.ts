import { concatBytes, i2osp, isWellFormedString, utf8Encode } from './encoding.js';
import { CryptoError } from './errors.js';

/** What a sealed blob holds; part of the bound context, so a blob sealed for one purpose never opens as another. */
export type SealPurpose = 'kms-config' | 'logging-config' | 'proxy-env' | 'vendor-key' | 'tenant-secret';

/** Every purpose accepted by {@link SealContext}. */
export const SEAL_PURPOSES: readonly SealPurpose[] = ['kms-config', 'logging-config', 'proxy-env', 'vendor-key', 'tenant-secret'];

/**
 * Where a sealed blob belongs. Bound into the HPKE `info` (with the recipient key id), so a blob moved to another
 * tenant, subject, version or recipient fails to open.
 */
export interface SealContext {
  /** What is sealed. */
  purpose: SealPurpose;
  /** The broker's vendor organization id (non-empty). */
  vendorId: string;
  /** The vendor's own tenant id; `''` when not tenant-scoped (e.g. vendor-key grants). */
  tenantId: string;
  /** The sealed subject, e.g. `String(kmsConfigId)`, a proxy configuration id or an admin user id (non-empty). */
  subjectId: string;
  /** Version of the sealed subject, a non-negative safe integer (credentials replaced means version + 1). */
  subjectVersion: number;
}

/** Longest UTF-8 encoding accepted for one context string. */
export const MAX_CONTEXT_FIELD_BYTES = 1024;

function encodeField(name: string, value: unknown, allowEmpty: boolean): Uint8Array {
  if (!isWellFormedString(value)) throw new CryptoError('MALFORMED', `context.${name} must be a well-formed string`);
  if (!allowEmpty && value.length === 0) throw new CryptoError('MALFORMED', `context.${name} must not be empty`);
  const bytes = utf8Encode(value);
  if (bytes.length > MAX_CONTEXT_FIELD_BYTES) throw new CryptoError('MALFORMED', `context.${name} is longer than ${MAX_CONTEXT_FIELD_BYTES} bytes`);
  // Length-prefixing makes the encoding injective: ("ab","c") and ("a","bc") never collide.
  return concatBytes(i2osp(bytes.length, 4), bytes);
}

/**
 * Validates a context and returns its canonical encoding:
 * lp(purpose) || lp(vendorId) || lp(tenantId) || lp(subjectId) || uint64be(subjectVersion), where lp(s) is the
 * 4-byte big-endian UTF-8 length followed by the UTF-8 bytes.
 * @throws CryptoError MALFORMED
 */
export function encodeContext(context: SealContext): Uint8Array {
  if (typeof context !== 'object' || context === null) throw new CryptoError('MALFORMED', 'context must be an object');
  if (!SEAL_PURPOSES.includes(context.purpose)) throw new CryptoError('MALFORMED', 'context.purpose is not a known seal purpose');
  const version = context.subjectVersion;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new CryptoError('MALFORMED', 'context.subjectVersion must be a non-negative safe integer');
  }
  return concatBytes(
    encodeField('purpose', context.purpose, false),
    encodeField('vendorId', context.vendorId, false),
    encodeField('tenantId', context.tenantId, true),
    encodeField('subjectId', context.subjectId, false),
    i2osp(version, 8),
  );
}
