import { sha256 } from '@noble/hashes/sha2.js';
import {
  base64UrlDecode,
  base64UrlEncode,
  CryptoError,
  fingerprint,
  generateKeyPair,
  getPublicKey,
  keyId,
  utf8Decode,
  utf8Encode,
  validatePublicKey,
} from '../src/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('base64url', () => {
  it('matches the RFC 4648 §10 test vectors (base64url alphabet, no padding)', () => {
    const cases: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of cases) {
      expect(base64UrlEncode(bytes(plain))).toBe(encoded);
      expect(base64UrlDecode(encoded)).toEqual(bytes(plain));
    }
    expect(base64UrlEncode(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('-_-_');
  });

  it('agrees with Node Buffer on random data', () => {
    for (let length = 0; length < 70; length++) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      const encoded = base64UrlEncode(data);
      expect(encoded).toBe(Buffer.from(data).toString('base64url'));
      expect(base64UrlDecode(encoded)).toEqual(data);
    }
  });

  it('rejects padding, other alphabets, impossible lengths and non-zero trailing bits with MALFORMED', () => {
    for (const text of ['Zg==', 'Zm9v+', 'Zm9v/', 'Z', 'Zh', 'Zm9', 'Zm 9v', 'Zé']) {
      expect(() => base64UrlDecode(text)).toThrow(CryptoError);
    }
    expect(base64UrlDecode('Zm8')).toEqual(bytes('fo'));
  });
});

describe('utf8', () => {
  it('round-trips text including astral characters and a leading BOM', () => {
    const text = '\uFEFFtenant ☃ 𝄞 ü';
    expect(utf8Decode(utf8Encode(text))).toBe(text);
  });
  it('rejects invalid UTF-8 and lone surrogates', () => {
    expect(() => utf8Decode(Uint8Array.of(0xc3, 0x28))).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
    expect(() => utf8Encode('a\uDC00b')).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });
});

describe('keys', () => {
  it('generates distinct 32-byte X25519 key pairs whose public key getPublicKey reproduces', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.privateKey).toHaveLength(32);
    expect(getPublicKey(a.privateKey)).toEqual(a.publicKey);
    expect(a.publicKey).not.toEqual(b.publicKey);
  });

  it('derives the RFC 7748 §6.1 public key', () => {
    const alicePrivate = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    expect(Buffer.from(getPublicKey(alicePrivate)).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  });

  it('key id is base64url of SHA-256 over a domain label and the key, 43 characters', () => {
    const { publicKey } = generateKeyPair();
    const label = bytes('OpenCMK key id v1\0');
    const expected = Buffer.from(sha256(new Uint8Array([...label, ...publicKey]))).toString('base64url');
    expect(keyId(publicKey)).toBe(expected);
    expect(keyId(publicKey)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('fingerprint is eight groups of four uppercase hex digits, different from the key id', () => {
    const { publicKey } = generateKeyPair();
    expect(fingerprint(publicKey)).toMatch(/^[0-9A-F]{4}( [0-9A-F]{4}){7}$/);
    expect(fingerprint(publicKey).replace(/ /g, '').toLowerCase()).not.toBe(Buffer.from(base64UrlDecode(keyId(publicKey)).subarray(0, 16)).toString('hex'));
    expect(fingerprint(publicKey)).toBe(fingerprint(publicKey.slice()));
  });

  it('rejects keys of the wrong type or length and low-order public keys with INVALID_KEY', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'key' as unknown as Uint8Array]) {
      expect(() => getPublicKey(bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
      expect(() => keyId(bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
      expect(() => fingerprint(bad)).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    }
    expect(() => validatePublicKey(new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
    expect(() => validatePublicKey(generateKeyPair().publicKey)).not.toThrow();
  });
});

describe('well-formed strings', () => {
  it('accepts surrogate pairs and rejects every kind of lone surrogate, like String.prototype.isWellFormed', () => {
    const samples = ['', 'abc', '𝄞', 'a𝄞b', '\uD834', '\uDD1E', 'a\uD834', '\uDD1Ea', '\uD834\uD834\uDD1E', '\uD834\uDD1E\uDD1E', '\uDBFF\uDFFF'];
    for (const text of samples) {
      const expected = (text as string & { isWellFormed(): boolean }).isWellFormed();
      let accepted = true;
      try {
        utf8Encode(text);
      } catch {
        accepted = false;
      }
      expect({ text: Array.from(text, (c) => c.codePointAt(0)), accepted }).toEqual({ text: Array.from(text, (c) => c.codePointAt(0)), accepted: expected });
    }
  });
});
