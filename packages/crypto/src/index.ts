/**
 * @opencmk/crypto: HPKE (RFC 9180) sealing to X25519 keys, context-bound versioned sealed blobs, and
 * passphrase-protected private keys (argon2id + XChaCha20-Poly1305). Isomorphic (browsers and Node), built only on
 * @noble/curves, @noble/hashes and @noble/ciphers. See README.md for the byte layouts and the threat model.
 */
export { CryptoError, isCryptoError, type CryptoErrorCode } from './errors.js';
export { base64UrlDecode, base64UrlEncode, utf8Decode, utf8Encode } from './encoding.js';
export { SEAL_PURPOSES, MAX_CONTEXT_FIELD_BYTES, type SealContext, type SealPurpose } from './context.js';
export { fingerprint, generateKeyPair, getPublicKey, keyId, validatePublicKey } from './keys.js';
export {
  blobRecipientKeyId,
  inspectSealedBlob,
  open,
  seal,
  sealToMany,
  SEALED_BLOB_HEADER_LENGTH,
  SEALED_BLOB_VERSION,
  type SealedBlobInfo,
} from './sealed-blob.js';
export {
  DEFAULT_ARGON2_PARAMS,
  inspectProtectedKey,
  MAXIMUM_ARGON2_PARAMS,
  MINIMUM_ARGON2_PARAMS,
  protectPrivateKey,
  PROTECTED_KEY_VERSION,
  reprotectPrivateKey,
  unprotectPrivateKey,
  type Argon2Params,
  type ProtectedKeyInfo,
  type ProtectOptions,
} from './protected-key.js';
/** Low-level RFC 9180 HPKE (modes base and psk), for interoperability and known-answer tests. */
export * as hpke from './hpke.js';
/** The wrapped @noble primitives the package runs on, for known-answer tests. */
export * as primitives from './primitives.js';
