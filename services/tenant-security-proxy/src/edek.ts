import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { EncryptedDeksSchema, EncryptedDekSchema, type EncryptedDek } from './gen/encrypted_deks_pb.js';
import { TspError } from './errors.js';

/** What the proxy needs from an EDEK after validation (PROTOCOL.md §2). */
export interface ParsedEdek {
  kmsConfigId: number;
  tenantId: string;
  /** KMS ciphertext of the DEK, or AES-256-GCM ct(32)||tag(16) under the leased key. */
  encryptedDekData: Uint8Array;
  leasedKeyId: number;
  leasedKeyIv: Uint8Array;
  /** The KMS-wrapped leased key (already unpacked from its nested EncryptedDeks). */
  wrappedLeasedKey: Uint8Array;
}

const INVALID = "Provided EDEK didn't contain IronCore EDEKs";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeEdek(base64: string): ParsedEdek {
  if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) throw new TspError(203, INVALID);
  let dek: EncryptedDek | undefined;
  try {
    dek = fromBinary(EncryptedDeksSchema, Buffer.from(base64, 'base64')).encryptedDeks[0];
  } catch {
    throw new TspError(203, INVALID);
  }
  if (!dek || dek.kmsConfigId <= 0 || dek.encryptedDekData.length === 0) throw new TspError(203, INVALID);
  let wrappedLeasedKey: Uint8Array = EMPTY;
  if (dek.leasedKeyId !== 0) {
    // A leased EDEK is only usable with all its parts: GCM needs the 12-byte IV and the 16-byte tag after the DEK.
    if (dek.leasedKeyIv.length !== 12 || dek.encryptedDekData.length !== 48 || dek.encryptedLeasedKeyData.length === 0) {
      throw new TspError(203, INVALID);
    }
    try {
      wrappedLeasedKey = fromBinary(EncryptedDeksSchema, dek.encryptedLeasedKeyData).encryptedDeks[0]?.encryptedDekData ?? EMPTY;
    } catch {
      throw new TspError(203, INVALID);
    }
    if (wrappedLeasedKey.length === 0) throw new TspError(203, INVALID);
  }
  return {
    kmsConfigId: dek.kmsConfigId,
    tenantId: dek.tenantId,
    encryptedDekData: dek.encryptedDekData,
    leasedKeyId: dek.leasedKeyId,
    leasedKeyIv: dek.leasedKeyIv,
    wrappedLeasedKey,
  };
}

const EMPTY = new Uint8Array(0);

/** EDEK of a DEK wrapped directly by the KMS. */
export function encodeKmsEdek(kmsConfigId: number, tenantId: string, kmsCiphertext: Uint8Array): string {
  const message = create(EncryptedDeksSchema, {
    encryptedDeks: [create(EncryptedDekSchema, { encryptedDekData: kmsCiphertext, kmsConfigId, tenantId })],
  });
  return Buffer.from(toBinary(EncryptedDeksSchema, message)).toString('base64');
}

/** The nested EncryptedDeks carrying a KMS-wrapped leased key (field 5 of a leased EDEK). */
export function encodeLeasedKeyEnvelope(kmsConfigId: number, wrappedLeasedKey: Uint8Array): Uint8Array {
  return toBinary(
    EncryptedDeksSchema,
    create(EncryptedDeksSchema, { encryptedDeks: [create(EncryptedDekSchema, { encryptedDekData: wrappedLeasedKey, kmsConfigId })] }),
  );
}

/**
 * Builds leased EDEKs for one lease. The message object is reused and only the per-DEK fields change, so each wrap
 * costs one protobuf serialisation and no allocation of the constant parts.
 */
export class LeasedEdekEncoder {
  private readonly message;
  private readonly dek: EncryptedDek;
  constructor(kmsConfigId: number, tenantId: string, leasedKeyId: number, leasedKeyEnvelope: Uint8Array) {
    this.dek = create(EncryptedDekSchema, {
      kmsConfigId,
      tenantId,
      leasedKeyId,
      encryptedLeasedKeyData: leasedKeyEnvelope,
    });
    this.message = create(EncryptedDeksSchema, { encryptedDeks: [this.dek] });
  }
  encode(encryptedDekData: Uint8Array, iv: Uint8Array): string {
    this.dek.encryptedDekData = encryptedDekData;
    this.dek.leasedKeyIv = iv;
    return Buffer.from(toBinary(EncryptedDeksSchema, this.message)).toString('base64');
  }
}
