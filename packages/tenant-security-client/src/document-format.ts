/**
 * IronCore's v3 document format (PROTOCOL.md §3.1), one encrypted field at a time:
 *
 *   0x03 | "IRON" | uint16 BE N | v3DocumentHeader protobuf (N bytes) | IV (12) | AES-256-GCM ciphertext | tag (16)
 *
 * The header carries the tenant id and `sig` = sigIV || GCM tag over the serialized SaaSShieldHeader under the DEK,
 * which binds the tenant id to the DEK. Fields are encrypted without AAD, as IronCore's clients do.
 */
import { createCipheriv, createDecipheriv, randomFillSync, timingSafeEqual, type CipherGCM } from 'node:crypto';
import { create, fromBinary, toBinary, type Message } from '@bufbuild/protobuf';
import { SaaSShieldHeaderSchema, v3DocumentHeaderSchema, type v3DocumentHeader } from './gen/document_header_pb.js';
import { TenantSecurityErrorCode, TscException } from './errors.js';
import { setOwn } from './own-property.js';

export const DOCUMENT_VERSION = 3;
export const DOCUMENT_MAGIC = Buffer.from('IRON', 'ascii');
/** version byte + magic + uint16 header length */
export const FIXED_HEADER_LENGTH = 7;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const DEK_LENGTH = 32;
/** sigIV || tag */
export const SIGNATURE_LENGTH = IV_LENGTH + TAG_LENGTH;
const MAX_HEADER_LENGTH = 0xffff;
const AES_ALGORITHM = 'aes-256-gcm';

// ---------------------------------------------------------------------------------------------------------------
// Randomness for IVs. One 12-byte IV per field and per signature, drawn from a pool refilled by the OS CSPRNG:
// random 96-bit IVs (NIST SP 800-38D §8.2.2) without a `randomBytes` call (and its allocation) per field. Every
// draw is copied into its destination before the next draw, so a refill can never change an IV in use.
// ---------------------------------------------------------------------------------------------------------------
const IV_POOL_SIZE = IV_LENGTH * 2048;
const ivPool = Buffer.allocUnsafe(IV_POOL_SIZE);
let ivPoolOffset = IV_POOL_SIZE;

/** Writes a fresh random IV into `target` at `offset`. */
export function writeRandomIv(target: Uint8Array, offset: number): void {
  if (ivPoolOffset === IV_POOL_SIZE) {
    randomFillSync(ivPool);
    ivPoolOffset = 0;
  }
  ivPool.copy(target, offset, ivPoolOffset, ivPoolOffset + IV_LENGTH);
  // Wipe the drawn bytes so the pool never hands out the same IV twice, even if the offset logic were wrong.
  ivPool.fill(0, ivPoolOffset, ivPoolOffset + IV_LENGTH);
  ivPoolOffset += IV_LENGTH;
}

function hasDocumentPrefix(bytes: Uint8Array): boolean {
  return (
    bytes[0] === DOCUMENT_VERSION && bytes[1] === 0x49 && bytes[2] === 0x52 && bytes[3] === 0x4f && bytes[4] === 0x4e
  );
}

export function isCiphertext(bytes: Uint8Array): boolean {
  return bytes.length > FIXED_HEADER_LENGTH && hasDocumentPrefix(bytes);
}

export function toDekBytes(dek: Uint8Array | string): Buffer {
  const bytes =
    typeof dek === 'string' ? Buffer.from(dek, 'base64') : Buffer.from(dek.buffer, dek.byteOffset, dek.byteLength);
  if (bytes.length !== DEK_LENGTH) {
    throw new TscException(
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
      `A DEK must be ${DEK_LENGTH} bytes, got ${bytes.length}.`,
    );
  }
  return bytes;
}

function gcmCipher(dek: Uint8Array, iv: Uint8Array): CipherGCM {
  // The default tag length is the full 16 bytes; passing no options object keeps this hot call lean.
  return createCipheriv(AES_ALGORITHM, dek, iv);
}

// ---------------------------------------------------------------------------------------------------------------
// Header. Per tenant the prefix `0x03 IRON N v3DocumentHeader{sig: <28 zero bytes>, saas_shield: {tenant_id}}` is
// serialized once by @bufbuild/protobuf and cached; per document only the 28 signature bytes change. They sit at a
// fixed place: field 1 (`sig`) is written first, as tag 0x0a, length 0x1c, then the 28 bytes.
// ---------------------------------------------------------------------------------------------------------------
export interface TenantHeaderTemplate {
  /** The serialized SaaSShieldHeader: the bytes the signature authenticates. */
  readonly saasShieldBytes: Uint8Array;
  /** The whole prefix with a zeroed signature. */
  readonly prefix: Buffer;
  /** Offset of the signature inside `prefix`. */
  readonly signatureOffset: number;
}

const headerTemplates = new Map<string, TenantHeaderTemplate>();
const MAX_CACHED_TENANTS = 10_000;

function headerTemplateFor(tenantId: string): TenantHeaderTemplate {
  const cached = headerTemplates.get(tenantId);
  if (cached) return cached;
  const saasShield = create(SaaSShieldHeaderSchema, { tenantId });
  const saasShieldBytes = toBinary(SaaSShieldHeaderSchema, saasShield);
  const headerBytes = toBinary(
    v3DocumentHeaderSchema,
    create(v3DocumentHeaderSchema, {
      sig: new Uint8Array(SIGNATURE_LENGTH),
      header: { case: 'saasShield', value: saasShield },
    }),
  );
  if (headerBytes.length > MAX_HEADER_LENGTH) {
    throw new TscException(
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
      'The tenant id is too long to fit in a document header.',
    );
  }
  // Guard the fixed-offset assumption against a future encoder that orders fields differently.
  if (headerBytes[0] !== 0x0a || headerBytes[1] !== SIGNATURE_LENGTH) {
    throw new Error('Unexpected v3DocumentHeader serialization: the signature is not the first field.');
  }
  const prefix = Buffer.allocUnsafe(FIXED_HEADER_LENGTH + headerBytes.length);
  prefix[0] = DOCUMENT_VERSION;
  DOCUMENT_MAGIC.copy(prefix, 1);
  prefix.writeUInt16BE(headerBytes.length, 5);
  prefix.set(headerBytes, FIXED_HEADER_LENGTH);
  const template = { saasShieldBytes, prefix, signatureOffset: FIXED_HEADER_LENGTH + 2 };
  if (headerTemplates.size >= MAX_CACHED_TENANTS) headerTemplates.clear();
  headerTemplates.set(tenantId, template);
  return template;
}

/** The GCM tag of `saasShieldBytes` under the DEK with `sigIv`; the ciphertext itself is discarded (§3.1). */
function signatureTag(dek: Uint8Array, sigIv: Uint8Array, saasShieldBytes: Uint8Array): Buffer {
  const cipher = gcmCipher(dek, sigIv);
  cipher.update(saasShieldBytes);
  cipher.final();
  return cipher.getAuthTag();
}

/** Writes the complete header of a new document (fixed part and signed protobuf) at the start of `target`. */
function writeSignedHeader(target: Buffer, dek: Uint8Array, template: TenantHeaderTemplate): void {
  template.prefix.copy(target, 0);
  const sigIvOffset = template.signatureOffset;
  writeRandomIv(target, sigIvOffset);
  const tag = signatureTag(dek, target.subarray(sigIvOffset, sigIvOffset + IV_LENGTH), template.saasShieldBytes);
  tag.copy(target, sigIvOffset + IV_LENGTH);
}

/** The complete header of a new document, to be shared by all its fields. */
export function createDocumentHeader(dek: Uint8Array, tenantId: string): Buffer {
  const template = headerTemplateFor(tenantId);
  const header = Buffer.allocUnsafe(template.prefix.length);
  writeSignedHeader(header, dek, template);
  return header;
}

// ---------------------------------------------------------------------------------------------------------------
// Encryption of one field.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Large plaintexts are fed to the cipher in slices and copied straight into the output, so each slice of the
 * ciphertext is copied while still in cache instead of one full-size copy of a full-size temporary. 256 KiB
 * measured fastest of 16 KiB, 64 KiB, 256 KiB and whole (1 MiB fields, side by side).
 */
const ENCRYPT_SLICE = 256 * 1024;

/**
 * `header || IV || AES-256-GCM(dek, IV, plaintext) || tag` in one allocation. `header` is either the bytes of an
 * existing header or, for a document's first field, the tenant's template: then the header is signed in place.
 */
export function encryptFieldWithHeader(
  plaintext: Uint8Array,
  dek: Uint8Array,
  header: Uint8Array | TenantHeaderTemplate,
): Buffer {
  const headerSize = header instanceof Uint8Array ? header.length : header.prefix.length;
  const ivOffset = headerSize;
  const ciphertextOffset = ivOffset + IV_LENGTH;
  const output = Buffer.allocUnsafe(ciphertextOffset + plaintext.length + TAG_LENGTH);
  if (header instanceof Uint8Array) output.set(header, 0);
  else writeSignedHeader(output, dek, header);
  writeRandomIv(output, ivOffset);
  const cipher = gcmCipher(dek, output.subarray(ivOffset, ciphertextOffset));
  let position = ciphertextOffset;
  for (let start = 0; start < plaintext.length; start += ENCRYPT_SLICE) {
    const slice = cipher.update(plaintext.subarray(start, Math.min(start + ENCRYPT_SLICE, plaintext.length)));
    output.set(slice, position);
    position += slice.length;
  }
  const rest = cipher.final();
  output.set(rest, position);
  position += rest.length;
  output.set(cipher.getAuthTag(), position);
  return output;
}

export function alreadyEncryptedError(fieldIds: string[]): TscException {
  return new TscException(
    TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
    `One or more provided documents is already IronCore encrypted. IDs: ${fieldIds.map((id) => `\`${id}\``).join(', ')}`,
  );
}

/** Refuses anything but a plain object of byte arrays, naming the offending fields. */
export function assertDocumentFields(
  document: unknown,
  code: TenantSecurityErrorCode,
  what: string,
): asserts document is Record<string, Uint8Array> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new TscException(code, `${what} must be an object mapping field names to Uint8Array/Buffer values.`);
  }
  const invalid = Object.keys(document).filter(
    (key) => !((document as Record<string, unknown>)[key] instanceof Uint8Array),
  );
  if (invalid.length > 0) {
    throw new TscException(
      code,
      `${what} fields must be Uint8Array/Buffer values; invalid: ${invalid.map((id) => `\`${id}\``).join(', ')}`,
    );
  }
}

/** Refuses a document that is not a map of byte arrays, or with fields that already are ciphertext (code 901). */
export function validatePlaintextDocument(document: unknown): asserts document is Record<string, Uint8Array> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new TscException(
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
      'A document must be an object mapping field names to Uint8Array/Buffer values.',
    );
  }
  // Checked by hand rather than with zod: this runs on every call's hot path and comes down to instanceof checks.
  // One pass for the common case; the error paths below go back to name every offending field.
  let clean = true;
  for (const fieldId of Object.keys(document)) {
    const value = (document as Record<string, unknown>)[fieldId];
    if (!(value instanceof Uint8Array) || isCiphertext(value)) {
      clean = false;
      break;
    }
  }
  if (clean) return;
  assertDocumentFields(document, TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED, 'A document');
  throw alreadyEncryptedError(Object.keys(document).filter((fieldId) => isCiphertext(document[fieldId]!)));
}

/** Encrypts every field with one DEK and one shared signed header, refusing fields that are already ciphertext. */
export function encryptDocumentFields(
  document: Record<string, Uint8Array>,
  dek: Uint8Array,
  tenantId: string,
  validated = false,
): Record<string, Buffer> {
  if (!validated) validatePlaintextDocument(document);
  const fieldIds = Object.keys(document);
  const encrypted: Record<string, Buffer> = {};
  if (fieldIds.length === 0) return encrypted;
  // The first field gets the freshly signed header; the others copy it from there.
  const template = headerTemplateFor(tenantId);
  const first = encryptFieldWithHeader(document[fieldIds[0]!]!, dek, template);
  setOwn(encrypted, fieldIds[0]!, first);
  const header = first.subarray(0, template.prefix.length);
  for (let index = 1; index < fieldIds.length; index += 1)
    setOwn(encrypted, fieldIds[index]!, encryptFieldWithHeader(document[fieldIds[index]!]!, dek, header));
  return encrypted;
}

// ---------------------------------------------------------------------------------------------------------------
// Decryption.
// ---------------------------------------------------------------------------------------------------------------

function invalidDocument(message = 'Provided bytes are not a CMK encrypted document.'): TscException {
  return new TscException(TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT, message);
}

function hasUnknownFields(message: Message): boolean {
  return (message.$unknown?.length ?? 0) > 0;
}

/** A parsed SaaS Shield header: what the signature covers, and the signature (empty in older documents). */
export interface ParsedDocumentHeader {
  tenantId: string;
  sig: Uint8Array;
  /** The serialized SaaSShieldHeader, the bytes the signature authenticates. */
  saasShieldBytes: Uint8Array;
}

function sameBytes(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  return Buffer.compare(a.subarray(aStart, aStart + length), b.subarray(bStart, bStart + length)) === 0;
}

/**
 * Parses the header protobuf, strictly. The signature covers only the tenant id, so the header's own bytes are
 * held to their canonical encoding: unknown fields are refused (flipping one bit of the `sig` tag could otherwise
 * turn the signature into an ignored unknown field and leave a header accepted as unsigned), and the bytes must be
 * exactly what @bufbuild/protobuf serializes for the parsed values (the decoder ignores a wrong wire type, so a
 * flipped wire-type bit would otherwise parse to the same header). Every encoder of these headers (IronCore's
 * protobufjs, prost, bufbuild) writes fields in number order without defaults, which is that canonical form. For
 * signed headers the canonical bytes are the tenant's cached template with the signature in place.
 */
export function parseDocumentHeader(headerBytes: Uint8Array): ParsedDocumentHeader {
  let header: v3DocumentHeader;
  try {
    header = fromBinary(v3DocumentHeaderSchema, headerBytes);
  } catch {
    throw invalidDocument();
  }
  if (header.header.case !== 'saasShield' || hasUnknownFields(header) || hasUnknownFields(header.header.value))
    throw invalidDocument();
  const tenantId = header.header.value.tenantId;
  if (header.sig.length === SIGNATURE_LENGTH) {
    const template = headerTemplateFor(tenantId);
    const signatureStart = template.signatureOffset - FIXED_HEADER_LENGTH;
    const signatureEnd = signatureStart + SIGNATURE_LENGTH;
    const canonical =
      headerBytes.length === template.prefix.length - FIXED_HEADER_LENGTH &&
      sameBytes(headerBytes, 0, template.prefix, FIXED_HEADER_LENGTH, signatureStart) &&
      sameBytes(
        headerBytes,
        signatureEnd,
        template.prefix,
        template.signatureOffset + SIGNATURE_LENGTH,
        headerBytes.length - signatureEnd,
      );
    if (!canonical) throw invalidDocument('The document header is not canonically encoded.');
    return { tenantId, sig: header.sig, saasShieldBytes: template.saasShieldBytes };
  }
  if (header.sig.length !== 0) throw invalidDocument('The document header signature has the wrong length.');
  if (Buffer.compare(toBinary(v3DocumentHeaderSchema, header), headerBytes) !== 0)
    throw invalidDocument('The document header is not canonically encoded.');
  return { tenantId, sig: header.sig, saasShieldBytes: toBinary(SaaSShieldHeaderSchema, header.header.value) };
}

/** Checks the header's signature against the DEK; a header without a signature (older documents) passes. */
export function verifyDocumentHeader(header: ParsedDocumentHeader, dek: Uint8Array): void {
  if (header.sig.length === 0) return;
  const expected = signatureTag(dek, header.sig.subarray(0, IV_LENGTH), header.saasShieldBytes);
  // Constant-time: the tag is a MAC (NIST SP 800-38D §7.3 step 7 compares tags).
  if (!timingSafeEqual(expected, header.sig.subarray(IV_LENGTH))) {
    throw new TscException(
      TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED,
      'Invalid DEK provided to decrypt this document',
    );
  }
}

/**
 * Length of the fixed header plus protobuf header at the start of `bytes`, or throws when `bytes` is not a
 * v3 document. Requires at least the fixed part to be present.
 */
export function headerLength(bytes: Uint8Array): number {
  // Not isCiphertext: a stream may have exactly the fixed part so far.
  if (bytes.length < FIXED_HEADER_LENGTH || !hasDocumentPrefix(bytes)) throw invalidDocument();
  return FIXED_HEADER_LENGTH + ((bytes[5]! << 8) | bytes[6]!);
}

/**
 * Decrypts one field. `verifiedHeader`, when given, is a header already verified with this DEK: an identical
 * header (the fields of one document share theirs) is not verified again.
 */
export function decryptField(field: Uint8Array, dek: Uint8Array, verifiedHeaders?: Uint8Array[]): Buffer {
  const bodyOffset = headerLength(field);
  if (field.length < bodyOffset + IV_LENGTH + TAG_LENGTH) throw invalidDocument('The encrypted document is too short.');
  const headerBytes = field.subarray(FIXED_HEADER_LENGTH, bodyOffset);
  if (headerBytes.length > 0 && !verifiedHeaders?.some((known) => Buffer.compare(known, headerBytes) === 0)) {
    verifyDocumentHeader(parseDocumentHeader(headerBytes), dek);
    verifiedHeaders?.push(headerBytes);
  }
  const ivEnd = bodyOffset + IV_LENGTH;
  const tagStart = field.length - TAG_LENGTH;
  try {
    const decipher = createDecipheriv(AES_ALGORITHM, dek, field.subarray(bodyOffset, ivEnd), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAuthTag(field.subarray(tagStart));
    const plaintext = decipher.update(field.subarray(ivEnd, tagStart));
    decipher.final();
    return plaintext;
  } catch {
    throw new TscException(
      TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED,
      'Unable to decrypt the document: it failed to authenticate with the provided DEK.',
    );
  }
}

export function decryptDocumentFields(document: Record<string, Uint8Array>, dek: Uint8Array): Record<string, Buffer> {
  assertDocumentFields(document, TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED, 'An encrypted document');
  const verifiedHeaders: Uint8Array[] = [];
  const plaintext: Record<string, Buffer> = {};
  for (const fieldId of Object.keys(document))
    setOwn(plaintext, fieldId, decryptField(document[fieldId]!, dek, verifiedHeaders));
  return plaintext;
}
