// Re-derives both formats from the byte layouts documented in README.md with independent code (noble directly,
// the low-level HPKE API), so the documentation and the implementation cannot drift apart.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { argon2id } from '@noble/hashes/argon2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64UrlDecode, generateKeyPair, hpke, keyId, protectPrivateKey, seal, utf8Encode, type SealContext } from '../src/index.js';

const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const lp = (text: string) => {
  const bytes = utf8Encode(text);
  return new Uint8Array([...u32(bytes.length), ...bytes]);
};

describe('sealed blob v1 byte layout (README)', () => {
  it('opens with an independent parse of the documented layout, info and aad', () => {
    const recipient = generateKeyPair();
    const context: SealContext = { purpose: 'logging-config', vendorId: 'vendor-ü', tenantId: 'tenant-1', subjectId: '3', subjectVersion: 258 };
    const payload = utf8Encode('{"provider":"splunk"}');
    const bytes = base64UrlDecode(seal(payload, recipient.publicKey, context));

    expect([...bytes.subarray(0, 10)]).toEqual([0x4f, 0x43, 0x53, 0x01, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
    const recipientKeyId = bytes.subarray(10, 42);
    expect(Buffer.from(recipientKeyId).toString('base64url')).toBe(keyId(recipient.publicKey));
    const encodedContext = new Uint8Array([
      ...lp(context.purpose), ...lp(context.vendorId), ...lp(context.tenantId), ...lp(context.subjectId),
      ...u32(0), ...u32(context.subjectVersion),
    ]);
    const info = new Uint8Array([...utf8Encode('OpenCMK sealed blob v1\0'), ...encodedContext, ...recipientKeyId]);
    expect([...bytes.subarray(42, 58)]).toEqual([...sha256(info).subarray(0, 16)]);
    const enc = bytes.subarray(58, 90);
    const receiver = hpke.setupReceiver(enc, recipient.privateKey, { aeadId: hpke.AEAD_CHACHA20_POLY1305, info });
    expect(receiver.open(bytes.subarray(0, 90), bytes.subarray(90))).toEqual(payload);
  });
});

describe('protected key v1 byte layout (README)', () => {
  it('argon2id is RFC 9106: the §5.3 test vector through noble', () => {
    const tag = argon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
      m: 32, t: 3, p: 4, dkLen: 32, key: new Uint8Array(8).fill(3), personalization: new Uint8Array(12).fill(4),
    });
    expect(Buffer.from(tag).toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  it('unwraps with argon2id(NFC(passphrase)) and XChaCha20-Poly1305 over the documented layout', async () => {
    const { privateKey, publicKey } = generateKeyPair();
    const params = { memoryKiB: 256, iterations: 2, parallelism: 1 };
    const bytes = base64UrlDecode(await protectPrivateKey(privateKey, 'Cafe\u0301', params, { dangerouslyAllowWeakArgon2ParamsForTestsOnly: true }));
    expect(bytes).toHaveLength(134);
    expect([...bytes.subarray(0, 5)]).toEqual([0x4f, 0x43, 0x50, 0x01, 0x02]);
    expect([...bytes.subarray(5, 14)]).toEqual([...u32(256), ...u32(2), 1]);
    expect(bytes.subarray(30, 62)).toEqual(publicKey);
    const key = argon2id(utf8Encode('Caf\u00e9'), bytes.subarray(14, 30), { m: 256, t: 2, p: 1, dkLen: 32, version: 0x13 });
    const unwrapped = xchacha20poly1305(key, bytes.subarray(62, 86), bytes.subarray(0, 86)).decrypt(bytes.subarray(86));
    expect(unwrapped).toEqual(privateKey);
  });
});
