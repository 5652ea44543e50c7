import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto';

/**
 * The local half of leased keys: AES-256-GCM (NIST SP 800-38D) with a 96-bit random IV per DEK, through node:crypto.
 * Performance-notes: a KeyObject per key, randomness from a pool, and the DEK and IV taken in one draw.
 */
const DRAW = 44; // 32-byte DEK + 12-byte IV
const POOL_DRAWS = 1024;
let pool = Buffer.allocUnsafeSlow(DRAW * POOL_DRAWS);
let poolOffset = pool.length;

/**
 * Returns 44 fresh random bytes (DEK || IV). A refill allocates a new pool rather than overwriting the old one, so a
 * DEK handed out earlier can never change under its caller (the pitfall recorded in performance-notes).
 */
function drawDekAndIv(): Buffer {
  if (poolOffset + DRAW > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(DRAW * POOL_DRAWS));
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + DRAW);
  poolOffset += DRAW;
  return slice;
}

export function randomKey32(): Buffer {
  return randomFillSync(Buffer.alloc(32));
}

export function leasedKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error('leased key must be 32 bytes');
  return createSecretKey(raw);
}

export interface LeasedWrap {
  dek: Buffer;
  iv: Buffer;
  /** ciphertext(32) || tag(16) */
  sealed: Buffer;
}

/** A fresh random DEK encrypted under the leased key. */
export function wrapNewDek(key: KeyObject): LeasedWrap {
  const draw = drawDekAndIv();
  const dek = draw.subarray(0, 32);
  const iv = draw.subarray(32, DRAW);
  return { dek, iv, sealed: sealDek(key, dek, iv) };
}

/** Encrypts a given DEK (rekey) with a fresh IV. */
export function wrapExistingDek(key: KeyObject, dek: Uint8Array): LeasedWrap {
  const iv = drawDekAndIv().subarray(32, DRAW);
  const dekBuffer = Buffer.from(dek);
  return { dek: dekBuffer, iv, sealed: sealDek(key, dekBuffer, iv) };
}

function sealDek(key: KeyObject, dek: Uint8Array, iv: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.allocUnsafe(48);
  cipher.update(dek).copy(sealed, 0);
  cipher.final();
  cipher.getAuthTag().copy(sealed, 32);
  return sealed;
}

/** Returns the DEK, or undefined when the tag does not verify (wrong key or tampered EDEK). */
export function unwrapDek(key: KeyObject, sealed: Uint8Array, iv: Uint8Array): Buffer | undefined {
  if (sealed.length !== 48 || iv.length !== 12) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(sealed.subarray(32, 48));
  const dek = decipher.update(sealed.subarray(0, 32));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return dek;
}
