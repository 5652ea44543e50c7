import { createCipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { GcmOpener, GcmOpeners } from '../../src/gcm-opener.js';
import { LeaseManager } from '../../src/leases.js';
import { leasedKeyObject, randomKey32, wrapNewDek } from '../../src/leased-crypto.js';
import { ProxyMetrics } from '../../src/metrics.js';
import type { KmsConfigEntry } from '../../src/tenant-store.js';

/** The vendored Wycheproof copy of packages/crypto (pinned there by the same SHA-256). */
const VECTORS = path.resolve(__dirname, '../../../../packages/crypto/tests/vectors/wycheproof_aes_gcm_test.json');
const VECTORS_SHA256 = '985e5ecc172e181eaf49e89508b9470dcf478002eb7e8559c707eb42dc97dfe7';

interface WycheproofGcm {
  testGroups: {
    keySize: number;
    ivSize: number;
    tagSize: number;
    tests: {
      tcId: number;
      key: string;
      iv: string;
      aad: string;
      msg: string;
      ct: string;
      tag: string;
      result: string;
    }[];
  }[];
}

function seal(key: KeyObject, iv: Buffer, plaintext: Buffer): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

describe('GcmOpener (NIST SP 800-38D §7.2 from an AES block function and noble GHASH)', () => {
  test('Wycheproof AES-GCM: every 256-bit key, 96-bit IV, 128-bit tag vector without AAD', () => {
    const text = readFileSync(VECTORS);
    expect(createHash('sha256').update(text).digest('hex')).toBe(VECTORS_SHA256);
    const vectors = JSON.parse(text.toString('utf8')) as WycheproofGcm;
    const results = { valid: 0, invalid: 0 };
    const lengths = new Set<number>();
    for (const group of vectors.testGroups) {
      if (group.keySize !== 256 || group.ivSize !== 96 || group.tagSize !== 128) continue;
      for (const t of group.tests) {
        if (t.aad !== '') continue;
        const opener = new GcmOpener(createSecretKey(Buffer.from(t.key, 'hex')));
        const opened = opener.open(Buffer.from(t.ct, 'hex'), Buffer.from(t.tag, 'hex'), Buffer.from(t.iv, 'hex'));
        if (t.result === 'valid') {
          expect({ tcId: t.tcId, msg: opened?.toString('hex') }).toEqual({ tcId: t.tcId, msg: t.msg });
          results.valid++;
          lengths.add(t.msg.length / 2);
        } else {
          expect({ tcId: t.tcId, opened }).toEqual({ tcId: t.tcId, opened: undefined });
          results.invalid++;
        }
        opener.release();
      }
    }
    // The selection is not empty and covers partial final blocks as well as whole ones.
    expect(results).toEqual({ valid: 21, invalid: 27 });
    expect([...lengths].some((n) => n % 16 !== 0)).toBe(true);
    expect([...lengths].some((n) => n > 16 && n % 16 === 0)).toBe(true);
  });

  test('property: one opener opens what node:crypto GCM seals, for any length and IV, many messages in a row', () => {
    const key = createSecretKey(randomBytes(32));
    const opener = new GcmOpener(key);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        (plaintext, ivBytes) => {
          const iv = Buffer.from(ivBytes);
          const { ciphertext, tag } = seal(key, iv, Buffer.from(plaintext));
          expect(opener.open(ciphertext, tag, iv)?.equals(Buffer.from(plaintext))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
    opener.release();
  });

  test('property: any change to the ciphertext, tag or IV, or another key, fails authentication', () => {
    const key = createSecretKey(randomBytes(32));
    const opener = new GcmOpener(key);
    const other = new GcmOpener(createSecretKey(randomBytes(32)));
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('ciphertext', 'tag', 'iv'),
        (plaintext, at, bit, part) => {
          const iv = randomBytes(12);
          const sealed = seal(key, iv, Buffer.from(plaintext));
          expect(other.open(sealed.ciphertext, sealed.tag, iv)).toBeUndefined();
          const target = part === 'ciphertext' ? sealed.ciphertext : part === 'tag' ? sealed.tag : iv;
          target[at % target.length]! ^= 1 << bit;
          expect(opener.open(sealed.ciphertext, sealed.tag, iv)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  test('wrong sizes are refused, a released opener cannot be used, and only 256-bit keys are accepted', () => {
    const key = createSecretKey(randomBytes(32));
    const opener = new GcmOpener(key);
    const iv = randomBytes(12);
    const { ciphertext, tag } = seal(key, iv, randomBytes(32));
    expect(opener.open(ciphertext, tag.subarray(0, 12), iv)).toBeUndefined();
    expect(opener.open(ciphertext, tag, randomBytes(16))).toBeUndefined();
    expect(opener.open(ciphertext, tag, iv)).toBeDefined();
    opener.release();
    opener.release();
    expect(() => opener.open(ciphertext, tag, iv)).toThrow('used after release');
    expect(() => new GcmOpener(createSecretKey(randomBytes(16)))).toThrow('256-bit');
  });
});

describe('GcmOpeners', () => {
  test('at most `limit` openers; released ones make room; idle and unreachable ones are swept', () => {
    const openers = new GcmOpeners(2);
    const [a, b, c] = [0, 1, 2].map(() => createSecretKey(randomBytes(32)));
    const openerA = openers.get(a!, 1000);
    expect(openerA).toBeDefined();
    expect(openers.get(a!, 1000)).toBe(openerA);
    expect(openers.get(b!, 1000)).toBeDefined();
    expect(openers.get(c!, 1000)).toBeUndefined();
    openers.release(a!);
    expect(() => openerA!.open(Buffer.alloc(0), Buffer.alloc(16), Buffer.alloc(12))).toThrow('used after release');
    expect(openers.get(c!, 2000)).toBeDefined();
    expect(openers.size).toBe(2);
    // b idle since 1000, c used at 2000: at 61,000 b is a minute idle.
    openers.sweep(60_000, () => true, 61_000);
    expect(openers.size).toBe(1);
    openers.sweep(60_000, (key) => key !== c, 61_000);
    expect(openers.size).toBe(0);
    openers.get(a!);
    openers.close();
    expect(openers.size).toBe(0);
  });
});

describe('LeaseManager.unwrapLocal', () => {
  function manager(limit: number, ttlMs = 60_000): LeaseManager {
    const metrics = new ProxyMetrics(
      () => 0,
      () => 0,
    );
    return new LeaseManager(60_000, ttlMs, metrics, undefined, limit);
  }

  test('unwraps leased DEKs through openers while there is room and through a per-call decipher beyond it', () => {
    const leases = manager(1);
    const keys = [leasedKeyObject(randomKey32()), leasedKeyObject(randomKey32())];
    for (let round = 0; round < 50; round++) {
      for (const key of keys) {
        const w = wrapNewDek(key);
        expect(leases.unwrapLocal(key, w.sealed, w.iv)?.equals(w.dek)).toBe(true);
        const tampered = Buffer.from(w.sealed);
        tampered[round % 48]! ^= 0x80;
        expect(leases.unwrapLocal(key, tampered, w.iv)).toBeUndefined();
        expect(leases.unwrapLocal(key, w.sealed.subarray(0, 47), w.iv)).toBeUndefined();
      }
    }
    // The first key took the only opener; the second used the fallback throughout.
    expect(leases.openerCount).toBe(1);
    leases.close();
    expect(leases.openerCount).toBe(0);
  });

  test('dropping a config releases the openers of its leases; a sweep releases those no longer reachable', async () => {
    const leases = manager(8);
    const raw = randomKey32();
    const adapter = {
      wrap: async (dek: Uint8Array) => Buffer.concat([Buffer.from('wrapped:'), dek]),
      unwrap: async (wrapped: Uint8Array) => Buffer.from(wrapped).subarray(8),
    };
    const config = { id: 7, tenantId: 't', adapter: async () => adapter } as unknown as KmsConfigEntry;
    const lease = await leases.currentLease(config);
    const w = wrapNewDek(lease.key);
    expect(leases.unwrapLocal(lease.key, w.sealed, w.iv)?.equals(w.dek)).toBe(true);
    expect(leases.openerCount).toBe(1);
    // A lease of another replica, unwrapped through the "KMS".
    const otherKey = await leases.unwrapLease(config, 99, Buffer.concat([Buffer.from('wrapped:'), raw]));
    const w2 = wrapNewDek(otherKey);
    expect(leases.unwrapLocal(otherKey, w2.sealed, w2.iv)?.equals(w2.dek)).toBe(true);
    expect(leases.openerCount).toBe(2);
    leases.sweep();
    expect(leases.openerCount).toBe(2);
    leases.drop(7);
    expect(leases.openerCount).toBe(0);
    // After the drop the keys are unreachable: a stray opener made for one is swept at once, not after a minute.
    expect(leases.unwrapLocal(otherKey, w2.sealed, w2.iv)?.equals(w2.dek)).toBe(true);
    expect(leases.openerCount).toBe(1);
    leases.sweep();
    expect(leases.openerCount).toBe(0);
  });

  test('dropping a config releases the opener of its current lease even after its cache entry expired', async () => {
    const leases = manager(8, 1);
    const config = {
      id: 3,
      tenantId: 't',
      adapter: async () => ({ wrap: async (dek: Uint8Array) => Uint8Array.from(dek) }),
    } as unknown as KmsConfigEntry;
    const lease = await leases.currentLease(config);
    await new Promise((resolve) => setTimeout(resolve, 5));
    leases.sweep();
    expect(leases.cachedCount).toBe(0);
    // Still the current lease: lookups find it, and it unwraps through an opener.
    expect(leases.lookupSync(3, lease.leasedKeyId, lease.wrapped)).toBe(lease.key);
    const w = wrapNewDek(lease.key);
    expect(leases.unwrapLocal(lease.key, w.sealed, w.iv)?.equals(w.dek)).toBe(true);
    expect(leases.openerCount).toBe(1);
    leases.drop(3);
    expect(leases.openerCount).toBe(0);
  });
});
