import { base64UrlEncode, concatBytes, utf8Encode } from './encoding.js';
import { assertX25519Key, sha256Digest, x25519GenerateKeyPair, x25519PublicKey, x25519SharedSecret } from './primitives.js';

// Domain separation: a key id or fingerprint can never equal a hash computed for another purpose.
const KEY_ID_LABEL = utf8Encode('OpenCMK key id v1\0');
const FINGERPRINT_LABEL = utf8Encode('OpenCMK fingerprint v1\0');
/** Length in bytes of a binary key id. */
export const KEY_ID_LENGTH = 32;

/**
 * Generates a fresh X25519 key pair from the platform CSPRNG.
 * @returns 32-byte raw keys
 */
export function generateKeyPair(): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const { publicKey, privateKey } = x25519GenerateKeyPair();
  return { publicKey, privateKey };
}

/**
 * The X25519 public key of a private key.
 * @param privateKey - 32-byte raw private key
 * @throws CryptoError INVALID_KEY
 */
export function getPublicKey(privateKey: Uint8Array): Uint8Array {
  return x25519PublicKey(privateKey);
}

/**
 * Checks that `publicKey` is a usable X25519 public key: 32 bytes and not one of the low-order points that would
 * make every shared secret all zero (RFC 7748 §6.1, RFC 9180 §7.1.4). Costs one scalar multiplication.
 * @throws CryptoError INVALID_KEY
 */
export function validatePublicKey(publicKey: Uint8Array): void {
  assertX25519Key(publicKey, 'public key');
  const probe = new Uint8Array(32);
  probe[0] = 9;
  x25519SharedSecret(probe, publicKey);
}

/** Binary key id: SHA-256 over a label and the raw public key. */
export function keyIdBytes(publicKey: Uint8Array): Uint8Array {
  assertX25519Key(publicKey, 'public key');
  return sha256Digest(concatBytes(KEY_ID_LABEL, publicKey));
}

/**
 * The stable identifier of a public key, used as `recipientKeyId` everywhere: base64url (43 characters) of
 * SHA-256("OpenCMK key id v1\0" || publicKey).
 * @throws CryptoError INVALID_KEY
 */
export function keyId(publicKey: Uint8Array): string {
  return base64UrlEncode(keyIdBytes(publicKey));
}

/**
 * A human-readable fingerprint for people to compare keys: the first 128 bits of
 * SHA-256("OpenCMK fingerprint v1\0" || publicKey) as eight groups of four uppercase hex digits,
 * e.g. `3F2A 91C0 77D1 0B4E A5C3 19F8 6E20 D4B7`.
 * @throws CryptoError INVALID_KEY
 */
export function fingerprint(publicKey: Uint8Array): string {
  assertX25519Key(publicKey, 'public key');
  const digest = sha256Digest(concatBytes(FINGERPRINT_LABEL, publicKey));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((digest[i]! << 8) | digest[i + 1]!).toString(16).toUpperCase().padStart(4, '0'));
  }
  return groups.join(' ');
}
