import { randomBytes } from 'node:crypto';
import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import {
  FIXED_HEADER_LENGTH,
  IV_LENGTH,
  TAG_LENGTH,
  createDocumentHeader,
  decryptDocumentFields,
  decryptField,
  encryptDocumentFields,
  isCiphertext,
  parseDocumentHeader,
  verifyDocumentHeader,
} from '../src/document-format.js';
import { TenantSecurityErrorCode, TscException } from '../src/errors.js';
import { SaaSShieldHeaderSchema, v3DocumentHeaderSchema } from '../src/gen/document_header_pb.js';

const vectorDek = Uint8Array.from({ length: 32 }, (_, index) => index);
const vectorHeader = Buffer.from(
  '0a1c3171ef3c899f875e595c2213cacf9287c78cf196458cd690544980c71a0a0a0874656e616e744964',
  'hex',
);

function expectTscCode(run: () => unknown, code: TenantSecurityErrorCode): TscException {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TscException);
    expect((error as TscException).errorCode).toBe(code);
    return error as TscException;
  }
  throw new Error(`expected a TscException with code ${code}`);
}

/** Builds a field by hand: fixed header, a given protobuf header, then IV || ct || tag from a real encryption. */
function withHeader(encryptedField: Buffer, headerBytes: Uint8Array): Buffer {
  const bodyOffset = FIXED_HEADER_LENGTH + encryptedField.readUInt16BE(5);
  const fixed = Buffer.from([3, 0x49, 0x52, 0x4f, 0x4e, headerBytes.length >> 8, headerBytes.length & 0xff]);
  return Buffer.concat([fixed, headerBytes, encryptedField.subarray(bodyOffset)]);
}

describe('v3 document header', () => {
  it('verifies the PROTOCOL.md §3.1 test vector and refuses it under another DEK', () => {
    const header = parseDocumentHeader(vectorHeader);
    expect(header.tenantId).toBe('tenantId');
    expect(() => verifyDocumentHeader(header, vectorDek)).not.toThrow();
    const otherDek = Uint8Array.from(vectorDek, (byte) => byte ^ 1);
    expectTscCode(() => verifyDocumentHeader(header, otherDek), TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED);
  });

  it('writes the fixed part, the protobuf length and a signature that verifies', () => {
    const dek = randomBytes(32);
    const header = createDocumentHeader(dek, 'tenant-aws');
    expect([...header.subarray(0, 5)]).toEqual([3, 0x49, 0x52, 0x4f, 0x4e]);
    expect(header.readUInt16BE(5)).toBe(header.length - FIXED_HEADER_LENGTH);
    const parsed = parseDocumentHeader(header.subarray(FIXED_HEADER_LENGTH));
    expect(parsed.sig).toHaveLength(28);
    expect(parsed.tenantId).toBe('tenant-aws');
    expect(() => verifyDocumentHeader(parsed, dek)).not.toThrow();
    // Two documents never share a signature IV.
    const again = parseDocumentHeader(createDocumentHeader(dek, 'tenant-aws').subarray(FIXED_HEADER_LENGTH));
    expect(Buffer.from(again.sig.subarray(0, IV_LENGTH)).equals(Buffer.from(parsed.sig.subarray(0, IV_LENGTH)))).toBe(
      false,
    );
  });

  it('accepts an empty header and a header without a signature (older documents)', () => {
    const dek = randomBytes(32);
    const field = encryptDocumentFields({ a: Buffer.from('older document') }, dek, 'tenant')['a']!;
    expect(decryptField(withHeader(field, new Uint8Array(0)), dek).toString()).toBe('older document');
    const unsigned = toBinary(
      v3DocumentHeaderSchema,
      create(v3DocumentHeaderSchema, {
        header: { case: 'saasShield', value: create(SaaSShieldHeaderSchema, { tenantId: 'tenant' }) },
      }),
    );
    expect(decryptField(withHeader(field, unsigned), dek).toString()).toBe('older document');
  });

  it('refuses a header that is not a SaaS Shield header or carries unknown fields', () => {
    const dek = randomBytes(32);
    const field = encryptDocumentFields({ a: Buffer.from('x') }, dek, 'tenant')['a']!;
    const dataControl = toBinary(
      v3DocumentHeaderSchema,
      create(v3DocumentHeaderSchema, { header: { case: 'dataControl', value: { documentId: 'd' } } }),
    );
    expectTscCode(
      () => decryptField(withHeader(field, dataControl), dek),
      TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT,
    );
    const unknownField = Buffer.concat([
      Buffer.from([0x4a, 0x01, 0x00]),
      toBinary(
        v3DocumentHeaderSchema,
        create(v3DocumentHeaderSchema, { header: { case: 'saasShield', value: { tenantId: 't' } } }),
      ),
    ]);
    expectTscCode(
      () => decryptField(withHeader(field, unknownField), dek),
      TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT,
    );
  });
});

describe('isCiphertext', () => {
  it('needs more than 7 bytes, version 3 and the IRON magic', () => {
    expect(isCiphertext(Buffer.from([3, 0x49, 0x52, 0x4f, 0x4e, 0, 0, 1]))).toBe(true);
    expect(isCiphertext(Buffer.from([3, 0x49, 0x52, 0x4f, 0x4e, 0, 0]))).toBe(false);
    expect(isCiphertext(Buffer.from([2, 0x49, 0x52, 0x4f, 0x4e, 0, 0, 1]))).toBe(false);
    expect(isCiphertext(Buffer.from([3, 0x49, 0x52, 0x4f, 0x4f, 0, 0, 1]))).toBe(false);
    expect(isCiphertext(encryptDocumentFields({ f: new Uint8Array(0) }, randomBytes(32), 't')['f']!)).toBe(true);
  });
});

describe('document encryption', () => {
  it('refuses fields that already are ciphertext with 901, naming them', () => {
    const dek = randomBytes(32);
    const encrypted = encryptDocumentFields({ ssn: Buffer.from('123'), name: Buffer.from('Ann') }, dek, 't');
    const error = expectTscCode(
      () =>
        encryptDocumentFields({ ssn: encrypted['ssn']!, plain: Buffer.from('ok'), name: encrypted['name']! }, dek, 't'),
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
    );
    expect(error.message).toContain('`ssn`');
    expect(error.message).toContain('`name`');
    expect(error.message).not.toContain('`plain`');
  });

  it('refuses values that are not byte arrays, naming them', () => {
    const error = expectTscCode(
      () => encryptDocumentFields({ ok: Buffer.from('x'), bad: 'text' as unknown as Uint8Array }, randomBytes(32), 't'),
      TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED,
    );
    expect(error.message).toContain('`bad`');
  });

  it('shares one signed header between the fields of a document and uses a fresh IV per field', () => {
    const dek = randomBytes(32);
    const encrypted = encryptDocumentFields({ a: Buffer.from('same'), b: Buffer.from('same') }, dek, 'tenant');
    const headerEnd = FIXED_HEADER_LENGTH + encrypted['a']!.readUInt16BE(5);
    expect(encrypted['a']!.subarray(0, headerEnd).equals(encrypted['b']!.subarray(0, headerEnd))).toBe(true);
    expect(
      encrypted['a']!.subarray(headerEnd, headerEnd + IV_LENGTH).equals(
        encrypted['b']!.subarray(headerEnd, headerEnd + IV_LENGTH),
      ),
    ).toBe(false);
    expect(encrypted['a']!.length).toBe(headerEnd + IV_LENGTH + 4 + TAG_LENGTH);
  });

  it('refuses a wrong DEK with 902 and garbage with 900', () => {
    const encrypted = encryptDocumentFields({ a: Buffer.from('secret') }, randomBytes(32), 'tenant');
    expectTscCode(
      () => decryptDocumentFields(encrypted, randomBytes(32)),
      TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED,
    );
    expectTscCode(
      () => decryptDocumentFields({ a: Buffer.from('not encrypted at all') }, randomBytes(32)),
      TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT,
    );
    // Header claims more bytes than there are.
    expectTscCode(
      () => decryptField(Buffer.from([3, 0x49, 0x52, 0x4f, 0x4e, 0xff, 0xff, 0, 0]), randomBytes(32)),
      TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT,
    );
  });

  it('refuses a change of any single bit of header, IV, ciphertext or tag', () => {
    const dek = randomBytes(32);
    const field = encryptDocumentFields({ a: Buffer.from('tamper-evident!') }, dek, 'tenant-gcp')['a']!;
    expect(decryptField(field, dek).toString()).toBe('tamper-evident!');
    let refused = 0;
    for (let bit = 0; bit < field.length * 8; bit += 1) {
      const tampered = Buffer.from(field);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => decryptField(tampered, dek)).toThrow(TscException);
      refused += 1;
    }
    expect(refused).toBe(field.length * 8);
  });

  it('round-trips field maps of any shape (fast-check)', () => {
    const dek = randomBytes(32);
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.uint8Array({ maxLength: 2048 }), { maxKeys: 8 }),
        fc.string({ minLength: 1, maxLength: 300 }),
        (document, tenantId) => {
          // Plaintext that happens to look like ciphertext is refused by design; skip those inputs.
          fc.pre(Object.values(document).every((value) => !isCiphertext(value)));
          const encrypted = encryptDocumentFields(document, dek, tenantId);
          expect(Object.keys(encrypted).sort()).toEqual(Object.keys(document).sort());
          const decrypted = decryptDocumentFields(encrypted, dek);
          for (const [fieldId, value] of Object.entries(document))
            expect(Buffer.from(decrypted[fieldId]!).equals(Buffer.from(value))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a field named "__proto__" as a field', () => {
    const dek = randomBytes(32);
    const document: Record<string, Uint8Array> = { a: Buffer.from('a') };
    Object.defineProperty(document, '__proto__', { value: Buffer.from('p'), enumerable: true });
    const decrypted = decryptDocumentFields(encryptDocumentFields(document, dek, 't'), dek);
    expect(Object.keys(decrypted).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(decrypted)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(decrypted, '__proto__')?.value.toString()).toBe('p');
  });

  it('round-trips a 3 MiB field (sliced encryption path)', () => {
    const dek = randomBytes(32);
    const big = randomBytes(3 * 1024 * 1024 + 5);
    const encrypted = encryptDocumentFields({ big }, dek, 't');
    expect(decryptDocumentFields(encrypted, dek)['big']!.equals(big)).toBe(true);
  });
});
