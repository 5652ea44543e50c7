import {
  blobRecipientKeyId,
  CryptoError,
  generateKeyPair,
  inspectSealedBlob,
  keyId,
  open,
  seal,
  SEALED_BLOB_HEADER_LENGTH,
  sealToMany,
  base64UrlDecode,
  base64UrlEncode,
  utf8Decode,
  utf8Encode,
  type SealContext,
  type CryptoErrorCode,
} from '../src/index.js';

const context: SealContext = { purpose: 'kms-config', vendorId: 'vendor-1', tenantId: 'tenant-aws', subjectId: '12', subjectVersion: 1 };

function codeOf(action: () => unknown): CryptoErrorCode | 'NO ERROR' | 'UNTYPED' {
  try {
    action();
    return 'NO ERROR';
  } catch (error) {
    return error instanceof CryptoError ? error.code : 'UNTYPED';
  }
}

describe('seal / open', () => {
  const recipient = generateKeyPair();
  const payload = utf8Encode(JSON.stringify({ provider: 'aws', keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k' }));

  it('round-trips a JSON payload and the text form is unpadded base64url starting with the v1 magic', () => {
    const blob = seal(payload, recipient.publicKey, context);
    expect(blob).toMatch(/^T0NTAQ[A-Za-z0-9_-]+$/);
    expect(base64UrlDecode(blob)).toHaveLength(SEALED_BLOB_HEADER_LENGTH + payload.length + 16);
    expect(utf8Decode(open(blob, recipient.privateKey, context))).toBe(utf8Decode(payload));
  });

  it('uses a fresh ephemeral key per seal, so sealing twice gives different blobs', () => {
    expect(seal(payload, recipient.publicKey, context)).not.toBe(seal(payload, recipient.publicKey, context));
  });

  it('reads the recipient key id and header without opening', () => {
    const blob = seal(payload, recipient.publicKey, context);
    expect(blobRecipientKeyId(blob)).toBe(keyId(recipient.publicKey));
    expect(inspectSealedBlob(blob)).toEqual({ version: 1, kemId: 0x20, kdfId: 1, aeadId: 3, recipientKeyId: keyId(recipient.publicKey), payloadLength: payload.length });
  });

  it('binds the recipient key id: a header rewritten to another recipient fails to open for that recipient', () => {
    const other = generateKeyPair();
    const bytes = base64UrlDecode(seal(payload, recipient.publicKey, context));
    bytes.set(base64UrlDecode(keyId(other.publicKey)), 10);
    expect(codeOf(() => open(base64UrlEncode(bytes), other.privateKey, context))).toBe('CONTEXT_MISMATCH');
    // Also forge the context digest (it covers the key id) with the one a genuine blob to `other` carries.
    bytes.set(base64UrlDecode(seal(payload, other.publicKey, context)).subarray(42, 58), 42);
    expect(codeOf(() => open(base64UrlEncode(bytes), other.privateKey, context))).toBe('TAMPERED');
  });

  it('binds the context cryptographically: a context digest forged to match another context still fails', () => {
    const moved: SealContext = { ...context, tenantId: 'tenant-other' };
    const forgedDigest = base64UrlDecode(seal(payload, recipient.publicKey, moved)).subarray(42, 58);
    const bytes = base64UrlDecode(seal(payload, recipient.publicKey, context));
    bytes.set(forgedDigest, 42);
    expect(codeOf(() => open(base64UrlEncode(bytes), recipient.privateKey, moved))).toBe('TAMPERED');
    expect(codeOf(() => open(base64UrlEncode(bytes), recipient.privateKey, context))).toBe('CONTEXT_MISMATCH');
  });

  it('answers a blob moved to another tenant, subject, version or purpose with CONTEXT_MISMATCH', () => {
    const blob = seal(payload, recipient.publicKey, context);
    for (const moved of [
      { ...context, tenantId: 'tenant-gcp' },
      { ...context, subjectId: '13' },
      { ...context, subjectVersion: 2 },
      { ...context, purpose: 'logging-config' as const },
      { ...context, vendorId: 'vendor-2' },
    ]) {
      expect(codeOf(() => open(blob, recipient.privateKey, moved))).toBe('CONTEXT_MISMATCH');
    }
  });

  it('aborts on a low-order enc (all-zero DH, RFC 9180 §7.1.4) with TAMPERED', () => {
    const bytes = base64UrlDecode(seal(payload, recipient.publicKey, context));
    bytes.fill(0, 58, 90); // u = 0 is a low-order point
    expect(codeOf(() => open(base64UrlEncode(bytes), recipient.privateKey, context))).toBe('TAMPERED');
  });

  it('refuses to seal to a low-order public key or a key of the wrong length', () => {
    expect(codeOf(() => seal(payload, new Uint8Array(32), context))).toBe('INVALID_KEY');
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(codeOf(() => seal(payload, one, context))).toBe('INVALID_KEY');
    expect(codeOf(() => seal(payload, new Uint8Array(31), context))).toBe('INVALID_KEY');
    expect(codeOf(() => open(seal(payload, recipient.publicKey, context), new Uint8Array(16), context))).toBe('INVALID_KEY');
  });

  it('answers malformed input with MALFORMED, never a primitive exception', () => {
    const blob = seal(payload, recipient.publicKey, context);
    expect(codeOf(() => open('', recipient.privateKey, context))).toBe('MALFORMED');
    expect(codeOf(() => open('not base64 !', recipient.privateKey, context))).toBe('MALFORMED');
    expect(codeOf(() => open(`${blob}=`, recipient.privateKey, context))).toBe('MALFORMED');
    expect(codeOf(() => open(blob.slice(0, 100), recipient.privateKey, context))).toBe('MALFORMED');
    expect(codeOf(() => open(42 as unknown as string, recipient.privateKey, context))).toBe('MALFORMED');
    expect(codeOf(() => seal('text' as unknown as Uint8Array, recipient.publicKey, context))).toBe('MALFORMED');
    expect(codeOf(() => blobRecipientKeyId('T0NQAQ'))).toBe('MALFORMED');
  });

  it('answers another format version or suite with UNSUPPORTED_VERSION', () => {
    const bytes = base64UrlDecode(seal(payload, recipient.publicKey, context));
    bytes[3] = 2;
    expect(codeOf(() => open(base64UrlEncode(bytes), recipient.privateKey, context))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(() => blobRecipientKeyId(base64UrlEncode(bytes)))).toBe('UNSUPPORTED_VERSION');
    bytes[3] = 1;
    bytes[9] = 1; // AES-128-GCM instead of ChaCha20-Poly1305
    expect(codeOf(() => open(base64UrlEncode(bytes), recipient.privateKey, context))).toBe('UNSUPPORTED_VERSION');
  });

  it('validates every context field', () => {
    const bad: unknown[] = [
      null,
      { ...context, purpose: 'other' },
      { ...context, vendorId: '' },
      { ...context, subjectId: '' },
      { ...context, tenantId: 5 },
      { ...context, tenantId: '\uD800' },
      { ...context, subjectVersion: -1 },
      { ...context, subjectVersion: 1.5 },
      { ...context, subjectVersion: Number.MAX_SAFE_INTEGER + 1 },
      { ...context, subjectId: 'x'.repeat(1025) },
    ];
    for (const candidate of bad) expect(codeOf(() => seal(payload, recipient.publicKey, candidate as SealContext))).toBe('MALFORMED');
    expect(codeOf(() => seal(payload, recipient.publicKey, { ...context, tenantId: '' }))).toBe('NO ERROR');
  });

  it('keeps fields apart: ("ab","c") and ("a","bc") are different contexts', () => {
    const blob = seal(payload, recipient.publicKey, { ...context, tenantId: 'ab', subjectId: 'c' });
    expect(codeOf(() => open(blob, recipient.privateKey, { ...context, tenantId: 'a', subjectId: 'bc' }))).toBe('CONTEXT_MISMATCH');
  });
});

describe('sealToMany', () => {
  it('seals to every recipient, each blob opens only for its own recipient', () => {
    const recipients = Array.from({ length: 4 }, () => generateKeyPair());
    const payload = utf8Encode('tenant config');
    const sealed = sealToMany(payload, recipients.map((r) => r.publicKey), context);
    expect(sealed.map((s) => s.recipientKeyId)).toEqual(recipients.map((r) => keyId(r.publicKey)));
    sealed.forEach(({ recipientKeyId, blob }, index) => {
      expect(blobRecipientKeyId(blob)).toBe(recipientKeyId);
      expect(utf8Decode(open(blob, recipients[index]!.privateKey, context))).toBe('tenant config');
      expect(codeOf(() => open(blob, recipients[(index + 1) % 4]!.privateKey, context))).toBe('WRONG_RECIPIENT');
    });
  });

  it('refuses an empty list, duplicates and bad keys before sealing anything', () => {
    const a = generateKeyPair();
    expect(codeOf(() => sealToMany(Uint8Array.of(1), [], context))).toBe('MALFORMED');
    expect(codeOf(() => sealToMany(Uint8Array.of(1), [a.publicKey, a.publicKey.slice()], context))).toBe('MALFORMED');
    expect(codeOf(() => sealToMany(Uint8Array.of(1), [a.publicKey, new Uint8Array(5)], context))).toBe('INVALID_KEY');
    expect(codeOf(() => sealToMany(Uint8Array.of(1), [a.publicKey, new Uint8Array(32)], context))).toBe('INVALID_KEY');
  });
});
