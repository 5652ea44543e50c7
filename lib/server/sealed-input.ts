import 'server-only';
import { base64UrlDecode, blobRecipientKeyId, inspectProtectedKey, keyId, validatePublicKey } from '@opencmk/crypto';
import { z } from 'zod';
import { BrokerError } from '@/lib/errors';
import { fieldErrorsOf } from '@/lib/validation';

/**
 * Shapes of what browsers send about keys and sealed blobs. The broker cannot open any of it; it checks what it can
 * without a private key: well-formed public keys, and that each blob names the recipient it claims (the recipient
 * key id is readable from the blob header, @opencmk/crypto README "Sealed blob").
 */

export const publicKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'A base64url X25519 public key (43 characters)')
  .refine((text) => {
    try {
      validatePublicKey(base64UrlDecode(text));
      return true;
    } catch {
      return false;
    }
  }, 'Not a valid X25519 public key');

export const sealedBlobSchema = z.string().min(60, 'Not a sealed blob').max(262_144, 'At most 256 KiB').regex(/^[A-Za-z0-9_-]+$/, 'Not a sealed blob');

export const keyIdSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'Not a key id');

export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'A lower-case hex SHA-256 digest');

export function parseInput<T extends z.ZodType>(schema: T, raw: unknown, message = 'Check the highlighted fields'): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new BrokerError('INVALID_INPUT', message, fieldErrorsOf(parsed.error));
  return parsed.data;
}

export function keyIdOfPublicKey(publicKey: string): string {
  return keyId(base64UrlDecode(publicKey));
}

/** The recipient key id a sealed blob was made for, or INVALID_INPUT naming the field. */
export function recipientOfBlob(blob: string, field: string): string {
  try {
    return blobRecipientKeyId(blob);
  } catch {
    throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { [field]: ['Not a sealed blob'] });
  }
}

export function requireBlobFor(blob: string, expectedKeyId: string, field: string): void {
  if (recipientOfBlob(blob, field) !== expectedKeyId) {
    throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { [field]: ['Sealed to a different key than declared'] });
  }
}

/** A protected private key blob whose embedded public key is the declared one. */
export function requireProtectedKeyFor(blob: string, publicKey: string, field: string): void {
  let embedded: Uint8Array;
  try {
    embedded = inspectProtectedKey(blob).publicKey;
  } catch {
    throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { [field]: ['Not a protected private key'] });
  }
  if (keyId(embedded) !== keyIdOfPublicKey(publicKey)) {
    throw new BrokerError('INVALID_INPUT', 'Check the highlighted fields', { [field]: ['Protects a different key than the public key given'] });
  }
}
