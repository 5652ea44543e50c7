import { argon2idAsync } from '@noble/hashes/argon2.js';
import { base64UrlDecode, base64UrlEncode, concatBytes, i2osp, isWellFormedString, readUintBE, utf8Encode } from './encoding.js';
import { CryptoError } from './errors.js';
import { assertX25519Key, constantTimeEqual, randomBytes, X25519_KEY_LENGTH, x25519PublicKey, XCHACHA20_POLY1305 } from './primitives.js';

/*
 * Protected private key, format version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       3     magic "OCP" (0x4f 0x43 0x50)   -> every v1 blob's text starts with "T0NQAQ"
 *   3       1     format version = 0x01
 *   4       1     KDF = 0x02 argon2id (RFC 9106 type 2), Argon2 version 0x13
 *   5       4     memory m, KiB
 *   9       4     iterations t
 *   13      1     parallelism p
 *   14      16    salt (random)
 *   30      32    X25519 public key of the wrapped private key (shown before unlocking; checked after)
 *   62      24    XChaCha20-Poly1305 nonce (random)
 *   86      48    XChaCha20-Poly1305(key = argon2id(NFC(passphrase), salt, m, t, p, 32), nonce, aad = bytes 0..86,
 *                 plaintext = 32-byte private key) = ciphertext || tag
 *
 * Text form: unpadded base64url of these 134 bytes (179 characters).
 */
const MAGIC = Uint8Array.of(0x4f, 0x43, 0x50);
/** The protected-key format version this build writes and reads. */
export const PROTECTED_KEY_VERSION = 1;
const KDF_ARGON2ID = 0x02;
const ARGON2_VERSION = 0x13;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 24;
const OFFSET_PARAMS = 5;
const OFFSET_SALT = 14;
const OFFSET_PUBLIC_KEY = OFFSET_SALT + SALT_LENGTH;
const OFFSET_NONCE = OFFSET_PUBLIC_KEY + X25519_KEY_LENGTH;
const HEADER_LENGTH = OFFSET_NONCE + NONCE_LENGTH;
const TOTAL_LENGTH = HEADER_LENGTH + X25519_KEY_LENGTH + 16;

/** argon2id cost parameters (RFC 9106 §3.1). */
export interface Argon2Params {
  /** Memory cost m in KiB. */
  memoryKiB: number;
  /** Number of passes t. */
  iterations: number;
  /** Degree of parallelism p (lanes). */
  parallelism: number;
}

/** The least cost accepted in production: m = 64 MiB, t = 3, p = 1 (DESIGN.md §2, RFC 9106 §4 second option). */
export const MINIMUM_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 });
/** The cost used when none is given. Raise it here (and re-protect) when the minimum is raised. */
export const DEFAULT_ARGON2_PARAMS: Readonly<Argon2Params> = MINIMUM_ARGON2_PARAMS;
/** The most a blob may ask for (so a forged blob cannot make the browser allocate unbounded memory or time). */
export const MAXIMUM_ARGON2_PARAMS: Readonly<Argon2Params> = Object.freeze({ memoryKiB: 1024 * 1024, iterations: 64, parallelism: 16 });

/** Options of {@link protectPrivateKey}, {@link unprotectPrivateKey} and {@link reprotectPrivateKey}. */
export interface ProtectOptions {
  /** Called with the argon2id progress in 0..1, e.g. for a progress bar (the derivation yields to the event loop). */
  onProgress?: (fraction: number) => void;
  /**
   * TESTS ONLY. Allows argon2id parameters below {@link MINIMUM_ARGON2_PARAMS}, both to create and to open a blob,
   * so property tests can run fast. Never set by production code: without it every weak blob is refused
   * (UNSUPPORTED_VERSION), so a weak blob made by a test cannot be used by the real application.
   */
  dangerouslyAllowWeakArgon2ParamsForTestsOnly?: true;
}

function validateParams(params: Argon2Params, allowWeak: boolean): Argon2Params {
  if (typeof params !== 'object' || params === null) throw new CryptoError('MALFORMED', 'argon2 params must be an object');
  const { memoryKiB, iterations, parallelism } = params;
  for (const [name, value] of [['memoryKiB', memoryKiB], ['iterations', iterations], ['parallelism', parallelism]] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new CryptoError('MALFORMED', `argon2 ${name} must be a positive integer`);
  }
  if (memoryKiB > MAXIMUM_ARGON2_PARAMS.memoryKiB || iterations > MAXIMUM_ARGON2_PARAMS.iterations || parallelism > MAXIMUM_ARGON2_PARAMS.parallelism) {
    throw new CryptoError('UNSUPPORTED_VERSION', 'argon2 parameters above the supported maximum');
  }
  // RFC 9106 §3.1: m must be at least 8 * p KiB.
  if (memoryKiB < 8 * parallelism) throw new CryptoError('MALFORMED', 'argon2 memoryKiB must be at least 8 * parallelism');
  const weak = memoryKiB < MINIMUM_ARGON2_PARAMS.memoryKiB || iterations < MINIMUM_ARGON2_PARAMS.iterations || parallelism < MINIMUM_ARGON2_PARAMS.parallelism;
  if (weak && !allowWeak) {
    throw new CryptoError('UNSUPPORTED_VERSION', `argon2 parameters below the minimum (m=${MINIMUM_ARGON2_PARAMS.memoryKiB} KiB, t=${MINIMUM_ARGON2_PARAMS.iterations}, p=${MINIMUM_ARGON2_PARAMS.parallelism})`);
  }
  return { memoryKiB, iterations, parallelism };
}

function passphraseBytes(passphrase: string, errorCode: 'MALFORMED' | 'WRONG_PASSPHRASE'): Uint8Array {
  if (!isWellFormedString(passphrase) || passphrase.length === 0) throw new CryptoError(errorCode, 'passphrase must be a non-empty string');
  // NFC so the same passphrase typed on different keyboards or platforms derives the same key (RFC 8265 §4.2).
  return utf8Encode(passphrase.normalize('NFC'));
}

async function deriveWrappingKey(passphrase: Uint8Array, salt: Uint8Array, params: Argon2Params, options: ProtectOptions): Promise<Uint8Array> {
  try {
    return await argon2idAsync(passphrase, salt, {
      m: params.memoryKiB,
      t: params.iterations,
      p: params.parallelism,
      version: ARGON2_VERSION,
      dkLen: 32,
      maxmem: params.memoryKiB * 1024 + 1024 * 1024,
      asyncTick: 10,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch {
    throw new CryptoError('MALFORMED', 'argon2id key derivation failed');
  }
}

interface ParsedProtectedKey {
  header: Uint8Array;
  params: Argon2Params;
  salt: Uint8Array;
  publicKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

function parseProtectedKey(blob: string): ParsedProtectedKey {
  if (typeof blob !== 'string') throw new CryptoError('MALFORMED', 'protected key must be a string');
  const bytes = base64UrlDecode(blob);
  if (bytes.length < 4 || !constantTimeEqual(bytes.subarray(0, 3), MAGIC)) throw new CryptoError('MALFORMED', 'not an OpenCMK protected key');
  if (bytes[3] !== PROTECTED_KEY_VERSION) throw new CryptoError('UNSUPPORTED_VERSION', `unsupported protected key version ${bytes[3]}`);
  if (bytes.length !== TOTAL_LENGTH) throw new CryptoError('MALFORMED', 'protected key has the wrong length');
  if (bytes[4] !== KDF_ARGON2ID) throw new CryptoError('UNSUPPORTED_VERSION', 'unsupported key derivation function');
  return {
    header: bytes.subarray(0, HEADER_LENGTH),
    params: {
      memoryKiB: readUintBE(bytes, OFFSET_PARAMS, 4),
      iterations: readUintBE(bytes, OFFSET_PARAMS + 4, 4),
      parallelism: bytes[OFFSET_PARAMS + 8]!,
    },
    salt: bytes.subarray(OFFSET_SALT, OFFSET_PUBLIC_KEY),
    publicKey: bytes.subarray(OFFSET_PUBLIC_KEY, OFFSET_NONCE),
    nonce: bytes.subarray(OFFSET_NONCE, HEADER_LENGTH),
    ciphertext: bytes.subarray(HEADER_LENGTH),
  };
}

/**
 * Wraps an X25519 private key under a passphrase: argon2id derives a 256-bit key (parameters stored in the blob),
 * XChaCha20-Poly1305 encrypts the private key with the whole header as associated data.
 * @param privateKey - 32-byte X25519 private key
 * @param passphrase - non-empty passphrase (NFC-normalized before use)
 * @param params - argon2id cost, at least {@link MINIMUM_ARGON2_PARAMS} (default {@link DEFAULT_ARGON2_PARAMS})
 * @returns the compact text blob
 * @throws CryptoError INVALID_KEY, MALFORMED or UNSUPPORTED_VERSION (parameters out of range)
 */
export async function protectPrivateKey(privateKey: Uint8Array, passphrase: string, params: Argon2Params = DEFAULT_ARGON2_PARAMS, options: ProtectOptions = {}): Promise<string> {
  assertX25519Key(privateKey, 'private key');
  const publicKey = x25519PublicKey(privateKey);
  const checked = validateParams(params, options.dangerouslyAllowWeakArgon2ParamsForTestsOnly === true);
  const password = passphraseBytes(passphrase, 'MALFORMED');
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(NONCE_LENGTH);
  const header = concatBytes(
    MAGIC,
    Uint8Array.of(PROTECTED_KEY_VERSION, KDF_ARGON2ID),
    i2osp(checked.memoryKiB, 4),
    i2osp(checked.iterations, 4),
    i2osp(checked.parallelism, 1),
    salt,
    publicKey,
    nonce,
  );
  const wrappingKey = await deriveWrappingKey(password, salt, checked, options);
  password.fill(0);
  // XChaCha20's 192-bit nonce makes a random nonce safe without any counter state.
  const ciphertext = XCHACHA20_POLY1305.seal(wrappingKey, nonce, header, privateKey);
  wrappingKey.fill(0);
  return base64UrlEncode(concatBytes(header, ciphertext));
}

/**
 * Unlocks a blob made by {@link protectPrivateKey}.
 * @param blob - protected key text
 * @param passphrase - the passphrase it was protected with
 * @returns the 32-byte private key
 * @throws CryptoError WRONG_PASSPHRASE (wrong passphrase, or a tampered blob: the two are indistinguishable),
 *   MALFORMED, UNSUPPORTED_VERSION (unknown version or parameters outside the accepted range) or TAMPERED
 */
export async function unprotectPrivateKey(blob: string, passphrase: string, options: ProtectOptions = {}): Promise<Uint8Array> {
  const parsed = parseProtectedKey(blob);
  const params = validateParams(parsed.params, options.dangerouslyAllowWeakArgon2ParamsForTestsOnly === true);
  const password = passphraseBytes(passphrase, 'WRONG_PASSPHRASE');
  const wrappingKey = await deriveWrappingKey(password, parsed.salt, params, options);
  password.fill(0);
  let privateKey: Uint8Array;
  try {
    privateKey = XCHACHA20_POLY1305.open(wrappingKey, parsed.nonce, parsed.header, parsed.ciphertext);
  } catch {
    throw new CryptoError('WRONG_PASSPHRASE', 'wrong passphrase (or the protected key was altered)');
  } finally {
    wrappingKey.fill(0);
  }
  // Only reachable with the passphrase; guards against a blob that pairs a private key with someone else's public key.
  if (!constantTimeEqual(x25519PublicKey(privateKey), parsed.publicKey)) {
    privateKey.fill(0);
    throw new CryptoError('TAMPERED', 'protected key does not match its public key');
  }
  return privateKey;
}

/**
 * Re-wraps a protected private key with a new passphrase and/or new argon2id parameters (e.g. after the minimum was
 * raised). `options` applies to both the unlock and the new wrap.
 * @returns the new blob (fresh salt and nonce)
 * @throws CryptoError as {@link unprotectPrivateKey} and {@link protectPrivateKey}
 */
export async function reprotectPrivateKey(blob: string, oldPassphrase: string, newPassphrase: string, params: Argon2Params = DEFAULT_ARGON2_PARAMS, options: ProtectOptions = {}): Promise<string> {
  const { onProgress } = options;
  const halves = (offset: number): ProtectOptions => ({
    ...options,
    ...(onProgress ? { onProgress: (fraction: number) => onProgress(offset + fraction / 2) } : {}),
  });
  // Validate the new inputs before the slow unlock so a bad argument fails fast.
  validateParams(params, options.dangerouslyAllowWeakArgon2ParamsForTestsOnly === true);
  passphraseBytes(newPassphrase, 'MALFORMED').fill(0);
  const privateKey = await unprotectPrivateKey(blob, oldPassphrase, halves(0));
  try {
    return await protectPrivateKey(privateKey, newPassphrase, params, halves(0.5));
  } finally {
    privateKey.fill(0);
  }
}

/** What a protected key reveals without the passphrase. */
export interface ProtectedKeyInfo {
  /** Format version (1). */
  version: number;
  /** The argon2id parameters it was protected with (compare with {@link DEFAULT_ARGON2_PARAMS} to decide on re-protecting). */
  params: Argon2Params;
  /** The X25519 public key of the wrapped private key. */
  publicKey: Uint8Array;
}

/**
 * Reads the version, argon2id parameters and public key of a protected key without unlocking it.
 * @throws CryptoError MALFORMED or UNSUPPORTED_VERSION
 */
export function inspectProtectedKey(blob: string): ProtectedKeyInfo {
  const parsed = parseProtectedKey(blob);
  return { version: PROTECTED_KEY_VERSION, params: parsed.params, publicKey: parsed.publicKey.slice() };
}
