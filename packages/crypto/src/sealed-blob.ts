import { encodeContext, type SealContext } from './context.js';
import { assertBytes, base64UrlDecode, base64UrlEncode, concatBytes, readUintBE, utf8Encode } from './encoding.js';
import { CryptoError } from './errors.js';
import { AEAD_CHACHA20_POLY1305, KDF_HKDF_SHA256, KEM_X25519_HKDF_SHA256, setupReceiver, setupSender } from './hpke.js';
import { KEY_ID_LENGTH, keyIdBytes } from './keys.js';
import { assertX25519Key, constantTimeEqual, sha256Digest, x25519PublicKey } from './primitives.js';

/*
 * Sealed blob, format version 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       3     magic "OCS" (0x4f 0x43 0x53)   -> every v1 blob's text starts with "T0NTAQ"
 *   3       1     format version = 0x01
 *   4       2     kem_id  = 0x0020 DHKEM(X25519, HKDF-SHA256)
 *   6       2     kdf_id  = 0x0001 HKDF-SHA256
 *   8       2     aead_id = 0x0003 ChaCha20-Poly1305
 *   10      32    recipient key id = SHA-256("OpenCMK key id v1\0" || pkR)
 *   42      16    context digest = SHA-256(info)[0..16]  (diagnostic only; the binding is the key schedule)
 *   58      32    enc (ephemeral X25519 public key)
 *   90      n+16  ChaCha20-Poly1305 ciphertext || tag
 *
 * info = "OpenCMK sealed blob v1\0" || encodeContext(context) || recipient key id
 * aad  = bytes 0..90 (the whole header), so no header byte can change without the open failing.
 * Text form: unpadded base64url of the bytes above.
 */
const MAGIC = Uint8Array.of(0x4f, 0x43, 0x53);
/** The sealed blob format version this build writes and reads. */
export const SEALED_BLOB_VERSION = 1;
const CONTEXT_DIGEST_LENGTH = 16;
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
const OFFSET_VERSION = 3;
const OFFSET_SUITE = 4;
const OFFSET_KEY_ID = 10;
const OFFSET_CONTEXT_DIGEST = OFFSET_KEY_ID + KEY_ID_LENGTH;
const OFFSET_ENC = OFFSET_CONTEXT_DIGEST + CONTEXT_DIGEST_LENGTH;
/** Header length in bytes (everything before the ciphertext). */
export const SEALED_BLOB_HEADER_LENGTH = OFFSET_ENC + ENC_LENGTH;
const INFO_LABEL = utf8Encode('OpenCMK sealed blob v1\0');
const SUITE = concatBytes(
  Uint8Array.of(KEM_X25519_HKDF_SHA256 >> 8, KEM_X25519_HKDF_SHA256 & 0xff),
  Uint8Array.of(KDF_HKDF_SHA256 >> 8, KDF_HKDF_SHA256 & 0xff),
  Uint8Array.of(AEAD_CHACHA20_POLY1305 >> 8, AEAD_CHACHA20_POLY1305 & 0xff),
);

interface ParsedSealedBlob {
  header: Uint8Array;
  recipientKeyId: Uint8Array;
  contextDigest: Uint8Array;
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/** The parts of a sealed blob readable without opening it. */
export interface SealedBlobInfo {
  /** Format version (1). */
  version: number;
  /** HPKE suite ids. */
  kemId: number;
  /** HPKE KDF id. */
  kdfId: number;
  /** HPKE AEAD id. */
  aeadId: number;
  /** base64url key id of the recipient public key. */
  recipientKeyId: string;
  /** Length of the sealed payload in bytes. */
  payloadLength: number;
}

function parseSealedBlob(blob: string): ParsedSealedBlob {
  if (typeof blob !== 'string') throw new CryptoError('MALFORMED', 'sealed blob must be a string');
  const bytes = base64UrlDecode(blob);
  if (bytes.length < OFFSET_VERSION + 1 || !constantTimeEqual(bytes.subarray(0, 3), MAGIC)) {
    throw new CryptoError('MALFORMED', 'not an OpenCMK sealed blob');
  }
  if (bytes[OFFSET_VERSION] !== SEALED_BLOB_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `unsupported sealed blob version ${bytes[OFFSET_VERSION]}`);
  }
  if (bytes.length < SEALED_BLOB_HEADER_LENGTH + TAG_LENGTH) throw new CryptoError('MALFORMED', 'sealed blob is truncated');
  if (!constantTimeEqual(bytes.subarray(OFFSET_SUITE, OFFSET_KEY_ID), SUITE)) {
    throw new CryptoError('UNSUPPORTED_VERSION', 'unsupported HPKE suite in sealed blob');
  }
  return {
    header: bytes.subarray(0, SEALED_BLOB_HEADER_LENGTH),
    recipientKeyId: bytes.subarray(OFFSET_KEY_ID, OFFSET_CONTEXT_DIGEST),
    contextDigest: bytes.subarray(OFFSET_CONTEXT_DIGEST, OFFSET_ENC),
    enc: bytes.subarray(OFFSET_ENC, SEALED_BLOB_HEADER_LENGTH),
    ciphertext: bytes.subarray(SEALED_BLOB_HEADER_LENGTH),
  };
}

/** info = label || canonical context || recipient key id: the recipient is bound as part of the context. */
function buildInfo(encodedContext: Uint8Array, recipientKeyId: Uint8Array): Uint8Array {
  return concatBytes(INFO_LABEL, encodedContext, recipientKeyId);
}

function contextDigest(info: Uint8Array): Uint8Array {
  return sha256Digest(info).subarray(0, CONTEXT_DIGEST_LENGTH);
}

function sealEncoded(payload: Uint8Array, recipientPublicKey: Uint8Array, encodedContext: Uint8Array): string {
  const recipientKeyId = keyIdBytes(recipientPublicKey);
  const info = buildInfo(encodedContext, recipientKeyId);
  const headerWithoutEnc = concatBytes(MAGIC, Uint8Array.of(SEALED_BLOB_VERSION), SUITE, recipientKeyId, contextDigest(info));
  let enc: Uint8Array;
  let ciphertext: Uint8Array;
  try {
    // Single-shot Seal (RFC 9180 §6.1) in its two steps: enc is only known after SetupBaseS, and it belongs in
    // the AAD together with the rest of the header.
    const sender = setupSender(recipientPublicKey, { aeadId: AEAD_CHACHA20_POLY1305, info });
    sender.sharedSecret.fill(0);
    enc = sender.enc;
    ciphertext = sender.context.seal(concatBytes(headerWithoutEnc, enc), payload);
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    throw new CryptoError('INVALID_KEY', 'sealing failed for this recipient key');
  }
  return base64UrlEncode(concatBytes(headerWithoutEnc, enc, ciphertext));
}

/**
 * Seals `payload` to one recipient with HPKE (RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20-Poly1305), bound to `context` and to the recipient's key id.
 * @param payload - bytes to seal (use {@link utf8Encode} for JSON)
 * @param recipientPublicKey - 32-byte X25519 public key
 * @param context - where the blob belongs
 * @returns the compact text blob (unpadded base64url)
 * @throws CryptoError INVALID_KEY (bad or low-order recipient key) or MALFORMED (bad payload or context)
 */
export function seal(payload: Uint8Array, recipientPublicKey: Uint8Array, context: SealContext): string {
  assertBytes(payload, 'payload');
  assertX25519Key(recipientPublicKey, 'recipient public key');
  return sealEncoded(payload, recipientPublicKey, encodeContext(context));
}

/**
 * Opens a blob made by {@link seal}.
 * @param blob - the text blob
 * @param recipientPrivateKey - 32-byte X25519 private key of the recipient
 * @param context - the context the blob must have been sealed for
 * @returns the payload
 * @throws CryptoError MALFORMED, UNSUPPORTED_VERSION, INVALID_KEY, WRONG_RECIPIENT, CONTEXT_MISMATCH or TAMPERED
 */
export function open(blob: string, recipientPrivateKey: Uint8Array, context: SealContext): Uint8Array {
  const parsed = parseSealedBlob(blob);
  const encodedContext = encodeContext(context);
  const ownPublicKey = x25519PublicKey(recipientPrivateKey);
  const ownKeyId = keyIdBytes(ownPublicKey);
  if (!constantTimeEqual(ownKeyId, parsed.recipientKeyId)) {
    throw new CryptoError('WRONG_RECIPIENT', 'sealed blob was sealed to a different key');
  }
  const info = buildInfo(encodedContext, ownKeyId);
  // The digest only turns a misplaced blob into a clear error; a forged digest still fails below, because the
  // context itself is bound through `info` into the HPKE key schedule (RFC 9180 §5.1).
  if (!constantTimeEqual(contextDigest(info), parsed.contextDigest)) {
    throw new CryptoError('CONTEXT_MISMATCH', 'sealed blob belongs to a different context');
  }
  try {
    // Single-shot Open (RFC 9180 §6.1) with the AEAD of the blob's suite.
    return setupReceiver(parsed.enc, recipientPrivateKey, { aeadId: AEAD_CHACHA20_POLY1305, info }, ownPublicKey).open(parsed.header, parsed.ciphertext);
  } catch {
    // A low-order enc (all-zero DH, RFC 9180 §7.1.4) or a failed AEAD check both mean the blob was altered.
    throw new CryptoError('TAMPERED', 'sealed blob failed authentication');
  }
}

/**
 * Seals one payload to each recipient (one independent HPKE encapsulation per recipient, same context).
 * @param recipients - distinct 32-byte X25519 public keys, at least one
 * @returns one `{ recipientKeyId, blob }` per recipient, in the order given
 * @throws CryptoError INVALID_KEY or MALFORMED (empty or duplicate recipient list, bad payload or context)
 */
export function sealToMany(payload: Uint8Array, recipients: Uint8Array[], context: SealContext): { recipientKeyId: string; blob: string }[] {
  assertBytes(payload, 'payload');
  if (!Array.isArray(recipients) || recipients.length === 0) throw new CryptoError('MALFORMED', 'recipients must be a non-empty array');
  const encodedContext = encodeContext(context);
  const seen = new Set<string>();
  const ids = recipients.map((recipient, index) => {
    assertX25519Key(recipient, `recipient ${index}`);
    const id = base64UrlEncode(keyIdBytes(recipient));
    if (seen.has(id)) throw new CryptoError('MALFORMED', `recipient ${index} is a duplicate`);
    seen.add(id);
    return id;
  });
  return recipients.map((recipient, index) => ({ recipientKeyId: ids[index]!, blob: sealEncoded(payload, recipient, encodedContext) }));
}

/**
 * The recipient key id of a blob, read without opening it (e.g. for the broker to check the recipient set).
 * @throws CryptoError MALFORMED or UNSUPPORTED_VERSION
 */
export function blobRecipientKeyId(blob: string): string {
  return base64UrlEncode(parseSealedBlob(blob).recipientKeyId);
}

/**
 * Header fields of a blob, read without opening it.
 * @throws CryptoError MALFORMED or UNSUPPORTED_VERSION
 */
export function inspectSealedBlob(blob: string): SealedBlobInfo {
  const parsed = parseSealedBlob(blob);
  return {
    version: parsed.header[OFFSET_VERSION]!,
    kemId: readUintBE(parsed.header, OFFSET_SUITE, 2),
    kdfId: readUintBE(parsed.header, OFFSET_SUITE + 2, 2),
    aeadId: readUintBE(parsed.header, OFFSET_SUITE + 4, 2),
    recipientKeyId: base64UrlEncode(parsed.recipientKeyId),
    payloadLength: parsed.ciphertext.length - TAG_LENGTH,
  };
}
