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
    if (
      dek.leasedKeyIv.length !== 12 ||
      dek.encryptedDekData.length !== 48 ||
      dek.encryptedLeasedKeyData.length === 0
    ) {
      throw new TspError(203, INVALID);
    }
    try {
      wrappedLeasedKey =
        fromBinary(EncryptedDeksSchema, dek.encryptedLeasedKeyData).encryptedDeks[0]?.encryptedDekData ?? EMPTY;
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
    create(EncryptedDeksSchema, {
      encryptedDeks: [create(EncryptedDekSchema, { encryptedDekData: wrappedLeasedKey, kmsConfigId })],
    }),
  );
}

/**
 * Builds leased EDEKs for one lease. Per lease, @bufbuild/protobuf serialises the message twice with placeholder
 * DEK ciphertext and IV of their fixed lengths (48 and 12 bytes) — once all 0x00, once all 0xFF. The bytes that
 * differ are exactly those two fields' values; every wrap then copies the serialised template and writes its own
 * ciphertext and IV there. Because the lengths are fixed, the framing is identical, so the output is byte-for-byte
 * what toBinary would produce (tests/unit/edek.test.ts checks this against toBinary for random inputs). This keeps
 * protobuf reflection (several µs) off the per-wrap hot path.
 */
export class LeasedEdekEncoder {
  private readonly template: Buffer;
  private readonly dekOffset: number;
  private readonly ivOffset: number;

  constructor(kmsConfigId: number, tenantId: string, leasedKeyId: number, leasedKeyEnvelope: Uint8Array) {
    const serialise = (fill: number) =>
      Buffer.from(
        toBinary(
          EncryptedDeksSchema,
          create(EncryptedDeksSchema, {
            encryptedDeks: [
              create(EncryptedDekSchema, {
                encryptedDekData: new Uint8Array(48).fill(fill),
                kmsConfigId,
                leasedKeyId,
                leasedKeyIv: new Uint8Array(12).fill(fill),
                encryptedLeasedKeyData: leasedKeyEnvelope,
                tenantId,
              }),
            ],
          }),
        ),
      );
    const low = serialise(0x00);
    const high = serialise(0xff);
    const differing: number[] = [];
    for (let i = 0; i < low.length; i++) if (low[i] !== high[i]) differing.push(i);
    const dekOffset = differing[0];
    const ivOffset = differing[48];
    // Field 1 (DEK ciphertext) precedes field 4 (IV) in serialisation order; anything else means the schema changed.
    if (
      low.length !== high.length ||
      differing.length !== 60 ||
      dekOffset === undefined ||
      ivOffset === undefined ||
      differing[47] !== dekOffset + 47 ||
      differing[59] !== ivOffset + 11
    ) {
      throw new Error('leased EDEK template: unexpected serialisation layout');
    }
    this.template = low;
    this.dekOffset = dekOffset;
    this.ivOffset = ivOffset;
  }

  encode(encryptedDekData: Uint8Array, iv: Uint8Array): string {
    if (encryptedDekData.length !== 48 || iv.length !== 12) throw new Error('leased EDEK parts have fixed lengths');
    const out = Buffer.allocUnsafe(this.template.length);
    this.template.copy(out);
    out.set(encryptedDekData, this.dekOffset);
    out.set(iv, this.ivOffset);
    return out.toString('base64');
  }
}
