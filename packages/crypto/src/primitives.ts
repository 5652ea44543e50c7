/**
 * Thin wrappers over the audited @noble primitives this package uses, so every primitive failure becomes a
 * {@link CryptoError} and the known-answer tests (Wycheproof, RFC 9180) exercise exactly the code paths that
 * sealing and key protection run.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { equalBytes as nobleEqualBytes } from '@noble/ciphers/utils.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { CryptoError } from './errors.js';

/** X25519 private and public key length in bytes (RFC 7748 §5). */
export const X25519_KEY_LENGTH = 32;
/** SHA-256 output length, the `Nh` of HKDF-SHA256 (RFC 9180 §7.2). */
export const SHA256_LENGTH = 32;

/** Cryptographically secure random bytes (WebCrypto `getRandomValues` in browsers and Node). */
export function randomBytes(length: number): Uint8Array {
  return nobleRandomBytes(length);
}

/** SHA-256 digest. */
export function sha256Digest(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** Compares two byte arrays in time independent of their contents (only the lengths may leak). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return nobleEqualBytes(a, b);
}

/** Throws INVALID_KEY unless `key` is a 32-byte Uint8Array. */
export function assertX25519Key(key: unknown, name: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_LENGTH) {
    throw new CryptoError('INVALID_KEY', `${name} must be a ${X25519_KEY_LENGTH}-byte X25519 key`);
  }
}

/** X25519 public key of a private key (RFC 7748 §6.1). */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  assertX25519Key(privateKey, 'private key');
  try {
    return x25519.getPublicKey(privateKey);
  } catch {
    throw new CryptoError('INVALID_KEY', 'X25519 public key derivation failed');
  }
}

/** A fresh random X25519 key pair. */
export function x25519GenerateKeyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const { secretKey, publicKey } = x25519.keygen();
  return { privateKey: secretKey, publicKey };
}

/**
 * X25519 Diffie-Hellman. Aborts on an all-zero output as RFC 9180 §7.1.4 requires for DHKEM (and RFC 7748 §6.1
 * permits): noble already rejects the low-order inputs that produce it, and the explicit check below keeps the
 * guarantee even if that ever changes.
 * @throws CryptoError INVALID_KEY for wrong-length keys and low-order (all-zero output) public keys
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertX25519Key(privateKey, 'private key');
  assertX25519Key(publicKey, 'public key');
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    throw new CryptoError('INVALID_KEY', 'X25519 rejected a low-order public key (all-zero shared secret)');
  }
  let accumulated = 0;
  for (const byte of shared) accumulated |= byte;
  if (accumulated === 0) throw new CryptoError('INVALID_KEY', 'X25519 shared secret is all zero (RFC 9180 §7.1.4)');
  return shared;
}

/** HKDF-Extract with SHA-256 (RFC 5869 §2.2). An empty salt is the same as HashLen zero bytes there. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return extract(sha256, ikm, salt);
}

/**
 * HKDF-Expand with SHA-256 (RFC 5869 §2.3).
 * @throws CryptoError MALFORMED when `length` exceeds 255 * 32 bytes
 */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_LENGTH) {
    throw new CryptoError('MALFORMED', `HKDF-SHA256 output length must be 0..${255 * SHA256_LENGTH} bytes`);
  }
  return expand(sha256, prk, info, length);
}

/** HKDF-SHA256 extract-then-expand (RFC 5869 §2). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}

/** An AEAD of RFC 9180 §7.3 with its parameters; `open` throws TAMPERED on authentication failure. */
export interface Aead {
  /** RFC 9180 AEAD identifier. */
  readonly id: number;
  /** `Nk`: key length in bytes. */
  readonly keyLength: number;
  /** `Nn`: nonce length in bytes. */
  readonly nonceLength: number;
  /** `Nt`: tag length in bytes. */
  readonly tagLength: number;
  /** Encrypts and authenticates; the result is ciphertext followed by the tag. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Verifies and decrypts ciphertext-with-tag. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

type NobleAead = (key: Uint8Array, nonce: Uint8Array, aad?: Uint8Array) => {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
};

function makeAead(id: number, keyLength: number, nonceLength: number, cipher: NobleAead): Aead {
  const check = (key: Uint8Array, nonce: Uint8Array): void => {
    if (!(key instanceof Uint8Array) || key.length !== keyLength) throw new CryptoError('INVALID_KEY', `AEAD key must be ${keyLength} bytes`);
    if (!(nonce instanceof Uint8Array) || nonce.length !== nonceLength) throw new CryptoError('MALFORMED', `AEAD nonce must be ${nonceLength} bytes`);
  };
  return {
    id,
    keyLength,
    nonceLength,
    tagLength: 16,
    seal(key, nonce, aad, plaintext) {
      check(key, nonce);
      return cipher(key, nonce, aad).encrypt(plaintext);
    },
    open(key, nonce, aad, ciphertext) {
      check(key, nonce);
      if (ciphertext.length < 16) throw new CryptoError('TAMPERED', 'ciphertext is shorter than the authentication tag');
      try {
        return cipher(key, nonce, aad).decrypt(ciphertext);
      } catch {
        throw new CryptoError('TAMPERED', 'AEAD authentication failed');
      }
    },
  };
}

/** AES-128-GCM, RFC 9180 AEAD id 0x0001. */
export const AES_128_GCM: Aead = makeAead(0x0001, 16, 12, gcm as unknown as NobleAead);
/** AES-256-GCM, RFC 9180 AEAD id 0x0002. */
export const AES_256_GCM: Aead = makeAead(0x0002, 32, 12, gcm as unknown as NobleAead);
/** ChaCha20-Poly1305 (RFC 8439), RFC 9180 AEAD id 0x0003: the suite OpenCMK seals with. */
export const CHACHA20_POLY1305: Aead = makeAead(0x0003, 32, 12, chacha20poly1305 as unknown as NobleAead);
/** XChaCha20-Poly1305 (24-byte random-safe nonces); wraps passphrase-protected private keys. Not an HPKE AEAD. */
export const XCHACHA20_POLY1305: Aead = makeAead(0, 32, 24, xchacha20poly1305 as unknown as NobleAead);
