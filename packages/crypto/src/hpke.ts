/**
 * HPKE, RFC 9180, for the KEM DHKEM(X25519, HKDF-SHA256) and the KDF HKDF-SHA256, in modes base and psk, with the
 * AEADs AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and export-only. Sealed blobs use base mode with
 * ChaCha20-Poly1305; the other AEADs and psk mode exist so every RFC 9180 test vector for this KEM/KDF can be checked.
 */
import { concatBytes, i2osp, utf8Encode } from './encoding.js';
import { CryptoError } from './errors.js';
import {
  AES_128_GCM,
  AES_256_GCM,
  CHACHA20_POLY1305,
  type Aead,
  hkdfExpand,
  hkdfExtract,
  randomBytes,
  SHA256_LENGTH,
  x25519PublicKey,
  x25519SharedSecret,
  X25519_KEY_LENGTH,
} from './primitives.js';

/** KEM id of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1). */
export const KEM_X25519_HKDF_SHA256 = 0x0020;
/** KDF id of HKDF-SHA256 (RFC 9180 §7.2). */
export const KDF_HKDF_SHA256 = 0x0001;
/** AEAD ids (RFC 9180 §7.3). */
export const AEAD_AES_128_GCM = 0x0001;
/** AEAD id of AES-256-GCM. */
export const AEAD_AES_256_GCM = 0x0002;
/** AEAD id of ChaCha20-Poly1305. */
export const AEAD_CHACHA20_POLY1305 = 0x0003;
/** AEAD id of the export-only mode: no encryption, only the secret export interface. */
export const AEAD_EXPORT_ONLY = 0xffff;
/** Mode ids (RFC 9180 §5, Table 1). The auth modes (2, 3) are out of scope: OpenCMK seals anonymously. */
export const MODE_BASE = 0x00;
/** PSK mode id. */
export const MODE_PSK = 0x01;

/** The HPKE modes this implementation supports. */
export type HpkeMode = typeof MODE_BASE | typeof MODE_PSK;

const HPKE_VERSION_LABEL = utf8Encode('HPKE-v1');
const EMPTY = new Uint8Array(0);
// RFC 9180 §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2)) inside the KEM.
const KEM_SUITE_ID = concatBytes(utf8Encode('KEM'), i2osp(KEM_X25519_HKDF_SHA256, 2));
/** `Nsecret` of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1). */
const KEM_SECRET_LENGTH = 32;

function aeadFor(aeadId: number): Aead | null {
  switch (aeadId) {
    case AEAD_AES_128_GCM:
      return AES_128_GCM;
    case AEAD_AES_256_GCM:
      return AES_256_GCM;
    case AEAD_CHACHA20_POLY1305:
      return CHACHA20_POLY1305;
    case AEAD_EXPORT_ONLY:
      return null;
    default:
      throw new CryptoError('UNSUPPORTED_VERSION', `unsupported HPKE AEAD id ${aeadId}`);
  }
}

/** RFC 9180 §5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2)). */
function hpkeSuiteId(aeadId: number): Uint8Array {
  return concatBytes(utf8Encode('HPKE'), i2osp(KEM_X25519_HKDF_SHA256, 2), i2osp(KDF_HKDF_SHA256, 2), i2osp(aeadId, 2));
}

/** RFC 9180 §4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hkdfExtract(salt, concatBytes(HPKE_VERSION_LABEL, suiteId, utf8Encode(label), ikm));
}

/** RFC 9180 §4: LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffff) throw new CryptoError('MALFORMED', 'LabeledExpand length must fit in two bytes');
  return hkdfExpand(prk, concatBytes(i2osp(length, 2), HPKE_VERSION_LABEL, suiteId, utf8Encode(label), info), length);
}

/** An X25519 key pair. */
export interface KeyPair {
  /** 32-byte private scalar. */
  privateKey: Uint8Array;
  /** 32-byte public u-coordinate. */
  publicKey: Uint8Array;
}

/**
 * DeriveKeyPair for X25519 (RFC 9180 §7.1.3): dkp_prk = LabeledExtract("", "dkp_prk", ikm),
 * sk = LabeledExpand(dkp_prk, "sk", "", Nsk). Used for the RFC's deterministic test keys.
 */
export function deriveKeyPair(ikm: Uint8Array): KeyPair {
  if (!(ikm instanceof Uint8Array) || ikm.length < X25519_KEY_LENGTH) {
    // RFC 9180 §7.1.3: ikm SHOULD have at least Nsk bytes of entropy.
    throw new CryptoError('MALFORMED', 'DeriveKeyPair input keying material must be at least 32 bytes');
  }
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  const privateKey = labeledExpand(KEM_SUITE_ID, dkpPrk, 'sk', EMPTY, X25519_KEY_LENGTH);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/** RFC 9180 §4.1: ExtractAndExpand(dh, kem_context). */
function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, 'eae_prk', dh);
  return labeledExpand(KEM_SUITE_ID, eaePrk, 'shared_secret', kemContext, KEM_SECRET_LENGTH);
}

/** Result of {@link encap}: the KEM shared secret and the encapsulated ephemeral public key. */
export interface Encapsulation {
  /** KEM shared secret (`Nsecret` = 32 bytes). */
  sharedSecret: Uint8Array;
  /** Serialized ephemeral public key `enc` (32 bytes). */
  enc: Uint8Array;
}

/**
 * Encap(pkR) (RFC 9180 §4.1). `ephemeral` fixes the ephemeral key pair for known-answer tests only (RFC 9180
 * Appendix A derives it from ikmE); production callers must omit it so a fresh random key pair is used.
 * @throws CryptoError INVALID_KEY when pkR has the wrong length or the DH output is all zero (§7.1.4)
 */
export function encap(recipientPublicKey: Uint8Array, ephemeral?: KeyPair): Encapsulation {
  const { privateKey: skE, publicKey: pkE } = ephemeral ?? generateEphemeralKeyPair();
  const dh = x25519SharedSecret(skE, recipientPublicKey);
  const enc = pkE;
  const kemContext = concatBytes(enc, recipientPublicKey);
  const sharedSecret = extractAndExpand(dh, kemContext);
  dh.fill(0);
  return { sharedSecret, enc };
}

function generateEphemeralKeyPair(): KeyPair {
  const privateKey = randomBytes(X25519_KEY_LENGTH);
  return { privateKey, publicKey: x25519PublicKey(privateKey) };
}

/**
 * Decap(enc, skR) (RFC 9180 §4.1). `recipientPublicKey` must be pk(skR) when given.
 * @throws CryptoError INVALID_KEY when enc or skR have the wrong length or the DH output is all zero (§7.1.4)
 */
export function decap(enc: Uint8Array, recipientPrivateKey: Uint8Array, recipientPublicKey?: Uint8Array): Uint8Array {
  const dh = x25519SharedSecret(recipientPrivateKey, enc);
  // pkRm may be passed in when the caller already derived it (saves one scalar multiplication per open).
  const kemContext = concatBytes(enc, recipientPublicKey ?? x25519PublicKey(recipientPrivateKey));
  const sharedSecret = extractAndExpand(dh, kemContext);
  dh.fill(0);
  return sharedSecret;
}

/** The values the key schedule derives (RFC 9180 §5.1); exposed so known-answer tests can check each one. */
export interface KeyScheduleResult {
  /** mode || psk_id_hash || info_hash. */
  keyScheduleContext: Uint8Array;
  /** LabeledExtract(shared_secret, "secret", psk). */
  secret: Uint8Array;
  /** AEAD key (empty for export-only). */
  key: Uint8Array;
  /** AEAD base nonce (empty for export-only). */
  baseNonce: Uint8Array;
  /** Secret of the export interface. */
  exporterSecret: Uint8Array;
}

/** Optional pre-shared key for psk mode (RFC 9180 §5.1.2). */
export interface PskInput {
  /** The pre-shared key, at least 32 bytes (§5.1.2: it MUST have at least 32 bytes of entropy). */
  psk: Uint8Array;
  /** Identifier of the pre-shared key. */
  pskId: Uint8Array;
}

/** VerifyPSKInputs (RFC 9180 §5.1): a PSK and its id come together, only in psk mode. */
function verifyPskInputs(mode: HpkeMode, psk: Uint8Array, pskId: Uint8Array): void {
  const gotPsk = psk.length > 0;
  const gotPskId = pskId.length > 0;
  if (gotPsk !== gotPskId) throw new CryptoError('MALFORMED', 'inconsistent PSK inputs');
  if (gotPsk && mode === MODE_BASE) throw new CryptoError('MALFORMED', 'PSK input provided when not needed');
  if (!gotPsk && mode === MODE_PSK) throw new CryptoError('MALFORMED', 'missing required PSK input');
  if (gotPsk && psk.length < 32) throw new CryptoError('MALFORMED', 'PSK must be at least 32 bytes (RFC 9180 §5.1.2)');
}

/** KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) (RFC 9180 §5.1), minus the context object. */
export function keySchedule(aeadId: number, mode: HpkeMode, sharedSecret: Uint8Array, info: Uint8Array, pskInput?: PskInput): KeyScheduleResult {
  const aead = aeadFor(aeadId);
  const psk = pskInput?.psk ?? EMPTY;
  const pskId = pskInput?.pskId ?? EMPTY;
  verifyPskInputs(mode, psk, pskId);
  const suiteId = hpkeSuiteId(aeadId);
  const pskIdHash = labeledExtract(suiteId, EMPTY, 'psk_id_hash', pskId);
  const infoHash = labeledExtract(suiteId, EMPTY, 'info_hash', info);
  const keyScheduleContext = concatBytes(Uint8Array.of(mode), pskIdHash, infoHash);
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', psk);
  const key = aead ? labeledExpand(suiteId, secret, 'key', keyScheduleContext, aead.keyLength) : EMPTY;
  const baseNonce = aead ? labeledExpand(suiteId, secret, 'base_nonce', keyScheduleContext, aead.nonceLength) : EMPTY;
  const exporterSecret = labeledExpand(suiteId, secret, 'exp', keyScheduleContext, SHA256_LENGTH);
  return { keyScheduleContext, secret, key, baseNonce, exporterSecret };
}

/** An HPKE encryption context (RFC 9180 §5.2) for one role. */
export class HpkeContext {
  private sequenceNumber = 0;
  private readonly aead: Aead | null;
  private readonly suiteId: Uint8Array;

  /** @internal use the setup functions */
  constructor(
    private readonly role: 'sender' | 'receiver',
    aeadId: number,
    private readonly schedule: KeyScheduleResult,
  ) {
    this.aead = aeadFor(aeadId);
    this.suiteId = hpkeSuiteId(aeadId);
  }

  /** RFC 9180 §5.2: ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
  private computeNonce(aead: Aead): Uint8Array {
    const nonce = i2osp(this.sequenceNumber, aead.nonceLength);
    for (let i = 0; i < nonce.length; i++) nonce[i]! ^= this.schedule.baseNonce[i]!;
    return nonce;
  }

  /** RFC 9180 §5.2: IncrementSeq; the limit here (2^53 - 1) is stricter than 2^(8*Nn) - 1, never reached in practice. */
  private incrementSequence(): void {
    if (this.sequenceNumber >= Number.MAX_SAFE_INTEGER) throw new CryptoError('MALFORMED', 'HPKE message limit reached');
    this.sequenceNumber += 1;
  }

  private requireAead(): Aead {
    if (!this.aead) throw new CryptoError('UNSUPPORTED_VERSION', 'export-only HPKE context cannot encrypt (RFC 9180 §5.3)');
    return this.aead;
  }

  /** ContextS.Seal(aad, pt) (RFC 9180 §5.2). */
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.role !== 'sender') throw new CryptoError('MALFORMED', 'only a sender context can seal');
    const aead = this.requireAead();
    const ciphertext = aead.seal(this.schedule.key, this.computeNonce(aead), aad, plaintext);
    this.incrementSequence();
    return ciphertext;
  }

  /** ContextR.Open(aad, ct) (RFC 9180 §5.2); a failed open does not advance the sequence number. */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.role !== 'receiver') throw new CryptoError('MALFORMED', 'only a receiver context can open');
    const aead = this.requireAead();
    const plaintext = aead.open(this.schedule.key, this.computeNonce(aead), aad, ciphertext);
    this.incrementSequence();
    return plaintext;
  }

  /** Context.Export(exporter_context, L) (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_LENGTH) {
      throw new CryptoError('MALFORMED', `export length must be 0..${255 * SHA256_LENGTH}`);
    }
    return labeledExpand(this.suiteId, this.schedule.exporterSecret, 'sec', exporterContext, length);
  }
}

/** Parameters shared by the sender and receiver setup functions. */
export interface SetupOptions {
  /** RFC 9180 AEAD id (default ChaCha20-Poly1305). */
  aeadId?: number;
  /** Application info bound into the key schedule. */
  info: Uint8Array;
  /** Pre-shared key: selects psk mode (RFC 9180 §5.1.2); omit for base mode. */
  psk?: PskInput;
}

/** A sender context with its encapsulated key and the intermediate values, for tests. */
export interface SenderSetup {
  /** Encapsulated ephemeral public key to send along. */
  enc: Uint8Array;
  /** The context for Seal and Export. */
  context: HpkeContext;
  /** KEM shared secret (known-answer tests only). */
  sharedSecret: Uint8Array;
  /** Key schedule outputs (known-answer tests only). */
  schedule: KeyScheduleResult;
}

/**
 * SetupBaseS / SetupPSKS (RFC 9180 §5.1.1, §5.1.2).
 * @param ephemeral - fixed ephemeral key pair, for known-answer tests only; omit in production
 */
export function setupSender(recipientPublicKey: Uint8Array, options: SetupOptions, ephemeral?: KeyPair): SenderSetup {
  const aeadId = options.aeadId ?? AEAD_CHACHA20_POLY1305;
  const mode: HpkeMode = options.psk ? MODE_PSK : MODE_BASE;
  const { sharedSecret, enc } = encap(recipientPublicKey, ephemeral);
  const schedule = keySchedule(aeadId, mode, sharedSecret, options.info, options.psk);
  return { enc, context: new HpkeContext('sender', aeadId, schedule), sharedSecret, schedule };
}

/**
 * SetupBaseR / SetupPSKR (RFC 9180 §5.1.1, §5.1.2).
 * @param recipientPublicKey - pk(skR) if the caller already has it; derived otherwise
 */
export function setupReceiver(enc: Uint8Array, recipientPrivateKey: Uint8Array, options: SetupOptions, recipientPublicKey?: Uint8Array): HpkeContext {
  const aeadId = options.aeadId ?? AEAD_CHACHA20_POLY1305;
  const mode: HpkeMode = options.psk ? MODE_PSK : MODE_BASE;
  const sharedSecret = decap(enc, recipientPrivateKey, recipientPublicKey);
  const schedule = keySchedule(aeadId, mode, sharedSecret, options.info, options.psk);
  sharedSecret.fill(0);
  return new HpkeContext('receiver', aeadId, schedule);
}

/** Single-shot Seal (RFC 9180 §6.1): setup a sender context and seal one message with sequence number 0. */
export function sealSingleShot(recipientPublicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, aeadId = AEAD_CHACHA20_POLY1305): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, context, sharedSecret } = setupSender(recipientPublicKey, { aeadId, info });
  sharedSecret.fill(0);
  return { enc, ciphertext: context.seal(aad, plaintext) };
}

/** Single-shot Open (RFC 9180 §6.1). */
export function openSingleShot(enc: Uint8Array, recipientPrivateKey: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, aeadId = AEAD_CHACHA20_POLY1305): Uint8Array {
  return setupReceiver(enc, recipientPrivateKey, { aeadId, info }).open(aad, ciphertext);
}
