import { leasedKeyObject, randomKey32, unwrapDek, wrapExistingDek, wrapNewDek } from '../../src/leased-crypto.js';

test('20,000 wraps across many pool refills: every DEK is distinct, unchanged after later draws, and unwraps', () => {
  const key = leasedKeyObject(randomKey32());
  const wraps = Array.from({ length: 20_000 }, () => wrapNewDek(key));
  // Snapshot copies now; the originals must still hold the same bytes after all later draws and refills.
  const deks = new Set(wraps.map((w) => w.dek.toString('hex')));
  expect(deks.size).toBe(20_000);
  for (const w of wraps) {
    const dek = unwrapDek(key, w.sealed, w.iv);
    expect(dek?.equals(w.dek)).toBe(true);
  }
  expect(new Set(wraps.map((w) => w.iv.toString('hex'))).size).toBe(20_000);
});

test('a tampered ciphertext, tag or IV, or another key, fails authentication', () => {
  const key = leasedKeyObject(randomKey32());
  const other = leasedKeyObject(randomKey32());
  const w = wrapNewDek(key);
  for (const index of [0, 31, 32, 47]) {
    const sealed = Buffer.from(w.sealed);
    sealed[index]! ^= 1;
    expect(unwrapDek(key, sealed, w.iv)).toBeUndefined();
  }
  const iv = Buffer.from(w.iv);
  iv[0]! ^= 1;
  expect(unwrapDek(key, w.sealed, iv)).toBeUndefined();
  expect(unwrapDek(other, w.sealed, w.iv)).toBeUndefined();
  expect(unwrapDek(key, w.sealed.subarray(0, 40), w.iv)).toBeUndefined();
});

test('rekey wraps a given DEK with a fresh IV', () => {
  const key = leasedKeyObject(randomKey32());
  const dek = randomKey32();
  const a = wrapExistingDek(key, dek);
  const b = wrapExistingDek(key, dek);
  expect(a.iv.equals(b.iv)).toBe(false);
  expect(unwrapDek(key, a.sealed, a.iv)?.equals(dek)).toBe(true);
  expect(() => leasedKeyObject(new Uint8Array(16))).toThrow();
});
