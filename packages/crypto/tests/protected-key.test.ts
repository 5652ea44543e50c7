import fc from 'fast-check';
import {
  base64UrlDecode,
  base64UrlEncode,
  CryptoError,
  generateKeyPair,
  inspectProtectedKey,
  MINIMUM_ARGON2_PARAMS,
  protectPrivateKey,
  reprotectPrivateKey,
  unprotectPrivateKey,
  type Argon2Params,
  type CryptoErrorCode,
} from '../src/index.js';

// The real default parameters run in protected-key-default-params.test.ts (a plain Node child process); here tiny
// parameters go through the explicitly named testing-only option.
const WEAK: Argon2Params = { memoryKiB: 64, iterations: 1, parallelism: 1 };
const TESTING_ONLY = { dangerouslyAllowWeakArgon2ParamsForTestsOnly: true } as const;

async function codeOf(action: () => Promise<unknown>): Promise<CryptoErrorCode | 'NO ERROR' | 'UNTYPED'> {
  try {
    await action();
    return 'NO ERROR';
  } catch (error) {
    return error instanceof CryptoError ? error.code : 'UNTYPED';
  }
}

describe('protected private keys: parameter policy', () => {
  const { privateKey } = generateKeyPair();

  it('refuses parameters below the minimum unless the testing-only option is given', async () => {
    for (const params of [WEAK, { ...MINIMUM_ARGON2_PARAMS, iterations: 2 }, { ...MINIMUM_ARGON2_PARAMS, memoryKiB: 65535 }]) {
      expect(await codeOf(() => protectPrivateKey(privateKey, 'pw', params))).toBe('UNSUPPORTED_VERSION');
    }
  });

  it('refuses to open a weak blob without the testing-only option, so test blobs never work in production', async () => {
    const weak = await protectPrivateKey(privateKey, 'pw', WEAK, TESTING_ONLY);
    expect(await codeOf(() => unprotectPrivateKey(weak, 'pw'))).toBe('UNSUPPORTED_VERSION');
    expect(await unprotectPrivateKey(weak, 'pw', TESTING_ONLY)).toEqual(privateKey);
  });

  it('refuses parameters above the maximum, also when read from a blob', async () => {
    expect(await codeOf(() => protectPrivateKey(privateKey, 'pw', { memoryKiB: 4 * 1024 * 1024, iterations: 3, parallelism: 1 }))).toBe('UNSUPPORTED_VERSION');
    const bytes = base64UrlDecode(await protectPrivateKey(privateKey, 'pw', WEAK, TESTING_ONLY));
    bytes.set([0xff, 0xff, 0xff, 0xff], 5); // m = 4 TiB
    expect(await codeOf(() => unprotectPrivateKey(base64UrlEncode(bytes), 'pw', TESTING_ONLY))).toBe('UNSUPPORTED_VERSION');
  });

  it('rejects malformed parameters, keys, passphrases and blobs with typed errors', async () => {
    expect(await codeOf(() => protectPrivateKey(privateKey, 'pw', { memoryKiB: 64, iterations: 0, parallelism: 1 }, TESTING_ONLY))).toBe('MALFORMED');
    expect(await codeOf(() => protectPrivateKey(privateKey, 'pw', { memoryKiB: 8, iterations: 1, parallelism: 2 }, TESTING_ONLY))).toBe('MALFORMED');
    expect(await codeOf(() => protectPrivateKey(new Uint8Array(31), 'pw', WEAK, TESTING_ONLY))).toBe('INVALID_KEY');
    expect(await codeOf(() => protectPrivateKey(privateKey, '', WEAK, TESTING_ONLY))).toBe('MALFORMED');
    expect(await codeOf(() => unprotectPrivateKey('T0NQAQ', 'pw', TESTING_ONLY))).toBe('MALFORMED');
    expect(await codeOf(() => unprotectPrivateKey('%%%', 'pw', TESTING_ONLY))).toBe('MALFORMED');
    const bytes = base64UrlDecode(await protectPrivateKey(privateKey, 'pw', WEAK, TESTING_ONLY));
    bytes[3] = 9;
    expect(await codeOf(() => unprotectPrivateKey(base64UrlEncode(bytes), 'pw', TESTING_ONLY))).toBe('UNSUPPORTED_VERSION');
  });
});

/** memoryKiB × iterations of a blob's header, or 0 when the header does not parse (rejected before any derivation). */
function derivationCostKiB(blob: string): number {
  try {
    const { params } = inspectProtectedKey(blob);
    return params.memoryKiB * params.iterations;
  } catch {
    return 0;
  }
}

describe('protected private keys: properties (tiny testing-only parameters)', () => {
  const params = fc.record({ memoryKiB: fc.integer({ min: 8, max: 128 }), iterations: fc.integer({ min: 1, max: 2 }), parallelism: fc.constant(1) });
  const passphrase = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });

  it('round-trips any key under any passphrase, and any other passphrase gives WRONG_PASSPHRASE', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), passphrase, passphrase, params, async (key, right, wrong, p) => {
        fc.pre(right.normalize('NFC') !== wrong.normalize('NFC'));
        const blob = await protectPrivateKey(key, right, p, TESTING_ONLY);
        expect(await unprotectPrivateKey(blob, right, TESTING_ONLY)).toEqual(key);
        expect(await codeOf(() => unprotectPrivateKey(blob, wrong, TESTING_ONLY))).toBe('WRONG_PASSPHRASE');
      }),
      { numRuns: 25 },
    );
  });

  it('stores any allowed parameters and derives with them', async () => {
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        const { privateKey } = generateKeyPair();
        const blob = await protectPrivateKey(privateKey, 'pw', p, TESTING_ONLY);
        expect(inspectProtectedKey(blob).params).toEqual(p);
        expect(await unprotectPrivateKey(blob, 'pw', TESTING_ONLY)).toEqual(privateKey);
      }),
      { numRuns: 15 },
    );
  });

  it('normalizes the passphrase to NFC: composed and decomposed forms unlock the same key', async () => {
    const { privateKey } = generateKeyPair();
    const blob = await protectPrivateKey(privateKey, 'Gr\u00fc\u00dfe', WEAK, TESTING_ONLY);
    expect(await unprotectPrivateKey(blob, 'Gru\u0308\u00dfe', TESTING_ONLY)).toEqual(privateKey);
  });

  it('fails for every single-bit flip anywhere in the blob (sampled)', async () => {
    const { privateKey } = generateKeyPair();
    const blob = await protectPrivateKey(privateKey, 'pw', WEAK, TESTING_ONLY);
    const bits = base64UrlDecode(blob).length * 8;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bits - 1 }), async (bit) => {
        const bytes = base64UrlDecode(blob);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        // A flip in a high bit of memoryKiB or iterations yields valid but costly parameters (up to 512 MiB: about a
        // minute of argon2id here) that end in WRONG_PASSPHRASE like the cheap ones. Those few bits are left out so the
        // test stays within its time limit; flips of every other parameter bit still go through the derivation.
        fc.pre(derivationCostKiB(base64UrlEncode(bytes)) <= 8 * 1024);
        const code = await codeOf(() => unprotectPrivateKey(base64UrlEncode(bytes), 'pw', TESTING_ONLY));
        expect(['MALFORMED', 'UNSUPPORTED_VERSION', 'WRONG_PASSPHRASE']).toContain(code);
      }),
      { numRuns: 120 },
    );
  });

  it('re-protects under a new passphrase: the old one stops working', async () => {
    const { privateKey } = generateKeyPair();
    const blob = await protectPrivateKey(privateKey, 'old', WEAK, TESTING_ONLY);
    const progress: number[] = [];
    const renewed = await reprotectPrivateKey(blob, 'old', 'new', WEAK, { ...TESTING_ONLY, onProgress: (f) => progress.push(f) });
    expect(await unprotectPrivateKey(renewed, 'new', TESTING_ONLY)).toEqual(privateKey);
    expect(await codeOf(() => unprotectPrivateKey(renewed, 'old', TESTING_ONLY))).toBe('WRONG_PASSPHRASE');
    expect(await codeOf(() => reprotectPrivateKey(blob, 'wrong', 'new', WEAK, TESTING_ONLY))).toBe('WRONG_PASSPHRASE');
    expect(Math.max(...progress)).toBeLessThanOrEqual(1);
  });
});
