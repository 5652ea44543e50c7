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
  const bytes = Buffer.from(base64, 'base64');
  const hint = base64.length > TEMPLATE_HINT_CHARS ? base64.slice(-TEMPLATE_HINT_CHARS) : undefined;
  const template = hint === undefined ? undefined : leasedTemplates.get(hint);
  if (template && template.matches(bytes)) return template.parse(bytes);
  const parsed = decodeEdekWithSchema(bytes);
  if (hint !== undefined && template === undefined && parsed.leasedKeyId !== 0) rememberLayout(hint, parsed, bytes);
  return parsed;
}

/** The reference decoding: @bufbuild/protobuf's fromBinary, for the EDEK and for the leased key's nested EDEK. */
export function decodeEdekWithSchema(bytes: Uint8Array): ParsedEdek {
  let dek: EncryptedDek | undefined;
  try {
    dek = fromBinary(EncryptedDeksSchema, bytes).encryptedDeks[0];
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

/**
 * Leased EDEKs of one lease differ only in the 48 bytes of DEK ciphertext and the 12 of IV; the rest (config,
 * tenant, lease id, the KMS-wrapped lease) is the same, and at the same offsets, in every one. After one EDEK of a
 * lease has been decoded with the schema, the next ones are recognised by comparing every constant byte with the
 * layout that toBinary produces for that lease, and read at the known offsets: about a tenth of fromBinary's cost,
 * and the same result (a property test checks both against each other, tampered inputs included). Anything else,
 * such as another encoder's field order, takes the schema path.
 *
 * The map is keyed by the last base64 characters, which fall in the constant tail (wrapped lease and tenant id):
 * only a hint to find the candidate layout, never trusted, since every constant byte is compared.
 */
const TEMPLATE_HINT_CHARS = 32;
const TEMPLATE_LIMIT = 4096;
const leasedTemplates = new Map<string, LeasedEdekLayout | null>();

function rememberLayout(hint: string, parsed: ParsedEdek, bytes: Buffer): void {
  if (leasedTemplates.size >= TEMPLATE_LIMIT) leasedTemplates.delete(leasedTemplates.keys().next().value!);
  let layout: LeasedEdekLayout | null = null;
  try {
    const candidate = new LeasedEdekLayout(
      parsed.kmsConfigId,
      parsed.tenantId,
      parsed.leasedKeyId,
      encodeLeasedKeyEnvelope(parsed.kmsConfigId, parsed.wrappedLeasedKey),
      parsed.wrappedLeasedKey,
    );
    if (candidate.matches(bytes)) layout = candidate;
  } catch {
    // an unexpected layout: this lease's EDEKs keep the schema path
  }
  // null remembers "not our layout", so such EDEKs do not rebuild a candidate every time.
  leasedTemplates.set(hint, layout);
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
 * The serialised layout of one lease's EDEKs. @bufbuild/protobuf serialises the message twice with placeholder DEK
 * ciphertext and IV of their fixed lengths (48 and 12 bytes) — once all 0x00, once all 0xFF. The bytes that differ
 * are exactly those two fields' values; every other byte, framing included, is the same in every EDEK of the lease,
 * because the lengths are fixed. Encoding copies the template and writes the two fields; decoding checks every
 * other byte against the template and reads them. Both equal toBinary / fromBinary byte for byte
 * (tests/unit/edek.test.ts checks this for random inputs, tampered ones included) while keeping protobuf reflection
 * (several µs) off the per-request hot path.
 */
class LeasedEdekLayout {
  readonly template: Buffer;
  readonly dekOffset: number;
  readonly ivOffset: number;

  constructor(
    readonly kmsConfigId: number,
    readonly tenantId: string,
    readonly leasedKeyId: number,
    leasedKeyEnvelope: Uint8Array,
    readonly wrappedLeasedKey: Uint8Array,
  ) {
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

  /** True when `bytes` has this layout: every byte outside the DEK ciphertext and the IV equals the template's. */
  matches(bytes: Buffer): boolean {
    const t = this.template;
    const dekEnd = this.dekOffset + 48;
    const ivEnd = this.ivOffset + 12;
    return (
      bytes.length === t.length &&
      bytes.compare(t, 0, this.dekOffset, 0, this.dekOffset) === 0 &&
      bytes.compare(t, dekEnd, this.ivOffset, dekEnd, this.ivOffset) === 0 &&
      bytes.compare(t, ivEnd, t.length, ivEnd, t.length) === 0
    );
  }

  /** The fields of an EDEK for which `matches` holds. */
  parse(bytes: Buffer): ParsedEdek {
    return {
      kmsConfigId: this.kmsConfigId,
      tenantId: this.tenantId,
      encryptedDekData: bytes.subarray(this.dekOffset, this.dekOffset + 48),
      leasedKeyId: this.leasedKeyId,
      leasedKeyIv: bytes.subarray(this.ivOffset, this.ivOffset + 12),
      wrappedLeasedKey: this.wrappedLeasedKey,
    };
  }
}

/** Builds the leased EDEKs of one lease from its layout (see LeasedEdekLayout). */
export class LeasedEdekEncoder {
  private readonly layout: LeasedEdekLayout;

  constructor(kmsConfigId: number, tenantId: string, leasedKeyId: number, leasedKeyEnvelope: Uint8Array) {
    this.layout = new LeasedEdekLayout(kmsConfigId, tenantId, leasedKeyId, leasedKeyEnvelope, EMPTY);
  }

  encode(encryptedDekData: Uint8Array, iv: Uint8Array): string {
    if (encryptedDekData.length !== 48 || iv.length !== 12) throw new Error('leased EDEK parts have fixed lengths');
    const { template, dekOffset, ivOffset } = this.layout;
    const out = Buffer.allocUnsafe(template.length);
    template.copy(out);
    out.set(encryptedDekData, dekOffset);
    out.set(iv, ivOffset);
    return out.toString('base64');
  }
}
