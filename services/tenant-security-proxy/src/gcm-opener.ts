import { createCipheriv, type Cipher, type KeyObject } from 'node:crypto';
import { GHASH } from '@noble/ciphers/_polyval.js';

/**
 * AES-256-GCM authenticated decryption (NIST SP 800-38D §7.2, empty AAD, 96-bit IV, 128-bit tag) for one key, built
 * from two audited primitives that are set up once per key instead of once per call:
 * - the block cipher CIPH_K is node:crypto's AES-256 (AES-NI, constant time), as an ECB cipher object that only ever
 *   encrypts counter blocks and the zero block, never data;
 * - GHASH_H is @noble/ciphers' GHASH, whose per-H multiplication table is built once.
 *
 * Why: `createDecipheriv` per leased unwrap builds an OpenSSL context (key schedule and GHASH table) and a native
 * object that every young-generation GC has to track: 3–4 µs in isolation and several µs more of event-loop time in
 * the loaded proxy (docs/benchmarks.md), where this path takes about 2 µs.
 *
 * noble's GHASH looks up its table by bits of the running hash, which is not constant time; a timing leak could at
 * most reveal H, that is, allow forging tags for this key. Forging gains nothing here: only callers holding an API
 * key reach unwrap, and they are entitled to every DEK of the tenant anyway. The secret key K itself only meets
 * AES-NI.
 */
export class GcmOpener {
  private readonly blocks: Cipher;
  private readonly ghash: ReusableGhash;
  /** J0 and the counter blocks of messages up to 32 bytes (IV and counter: nothing secret). */
  private readonly counters = Buffer.alloc(48);
  private released = false;

  constructor(key: KeyObject) {
    if (key.symmetricKeySize !== 32) throw new Error('GcmOpener needs a 256-bit key');
    const blocks = createCipheriv('aes-256-ecb', key, null);
    blocks.setAutoPadding(false);
    // §7.1 step 1: H = CIPH_K(0^128).
    const h = encryptBlocks(blocks, Buffer.alloc(16));
    this.blocks = blocks;
    this.ghash = new ReusableGhash(h, 64);
    h.fill(0);
  }

  /**
   * The plaintext of `ciphertext` under this key, or undefined when the tag does not verify. The plaintext is only
   * formed once the tag has been checked (§7.2 step 7 returns P only when T = T').
   */
  open(ciphertext: Uint8Array, tag: Uint8Array, iv: Uint8Array): Buffer | undefined {
    if (this.released) throw new Error('GcmOpener used after release');
    if (iv.length !== 12 || tag.length !== 16) return undefined;
    const c = asBuffer(ciphertext);
    const n = Math.ceil(c.length / 16);
    // §7.2 step 2: J0 = IV || 0^31 || 1 for a 96-bit IV; step 3 runs GCTR from inc32(J0), so block i (from 0) of the
    // ciphertext uses counter value i + 2, and J0 (value 1) masks the tag in step 6. Counter values stay far below
    // 2^32 (at most 2^28 blocks for the inputs here), so inc32 never wraps.
    const counters = n <= 2 ? this.counters.subarray(0, (n + 1) * 16) : Buffer.allocUnsafe((n + 1) * 16);
    for (let i = 0; i <= n; i++) {
      counters.set(iv, i * 16);
      counters.writeUInt32BE(i + 1, i * 16 + 12);
    }
    const keystream = encryptBlocks(this.blocks, counters);
    try {
      // §7.2 steps 5–7: S = GHASH_H(C || 0^u || [len(A)]64 || [len(C)]64), T' = MSB_128(GCTR_K(J0, S)), and T' is
      // compared with the tag in constant time (every word, no early exit).
      this.ghash.absorbCiphertext(c);
      if (this.ghash.tagDifference(keystream, asBuffer(tag)) !== 0) return undefined;
      // §7.2 step 3: P = GCTR_K(inc32(J0), C), the ciphertext XOR the keystream after J0's block.
      const plaintext = Buffer.allocUnsafe(c.length);
      for (let i = 0; i < c.length; i++) plaintext[i] = c[i]! ^ keystream[16 + i]!;
      return plaintext;
    } finally {
      // The keystream is a one-time pad of the plaintext.
      keystream.fill(0);
      this.ghash.reset();
    }
  }

  /** Frees the OpenSSL context (EVP_CIPHER_CTX_free cleanses the key schedule) and wipes the GHASH table. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.blocks.final();
    this.ghash.destroy();
  }
}

/** CIPH_K over whole blocks; ECB encryption without padding returns exactly what it is given. */
function encryptBlocks(blocks: Cipher, input: Buffer): Buffer {
  const output = blocks.update(input);
  if (output.length !== input.length) throw new Error('AES block function returned a partial output');
  return output;
}

/**
 * noble's GHASH with the table kept between messages: the running state is reset instead of building a new
 * instance (and its table) per message. Blocks go to `_updateBlock` as little-endian words, as noble's own `update`
 * passes them, so the result is noble's GHASH exactly (tests/unit/gcm-opener.test.ts checks it against node:crypto's
 * GCM and the Wycheproof vectors).
 */
class ReusableGhash extends GHASH {
  private readonly pad = Buffer.alloc(16);

  /** Absorbs C || 0^u || [0]64 || [len(C)]64 (§7.2 step 5, A empty) into a fresh state. */
  absorbCiphertext(c: Buffer): void {
    this.reset();
    const whole = c.length - (c.length % 16);
    for (let i = 0; i < whole; i += 16) {
      this._updateBlock(c.readUInt32LE(i), c.readUInt32LE(i + 4), c.readUInt32LE(i + 8), c.readUInt32LE(i + 12));
    }
    if (whole < c.length) {
      const pad = this.pad;
      pad.fill(0);
      c.copy(pad, 0, whole);
      this._updateBlock(pad.readUInt32LE(0), pad.readUInt32LE(4), pad.readUInt32LE(8), pad.readUInt32LE(12));
      pad.fill(0);
    }
    // The length block: len(A) = 0, then len(C) in bits as a big-endian 64-bit number, read as little-endian words.
    const bits = c.length * 8;
    this._updateBlock(0, 0, byteSwap32(Math.floor(bits / 0x1_0000_0000)), byteSwap32(bits >>> 0));
  }

  /**
   * Zero exactly when S XOR CIPH_K(J0) (the first keystream block) equals `tag`: the XOR of the words, ORed together,
   * so the time taken does not depend on where they differ.
   */
  tagDifference(keystream: Buffer, tag: Buffer): number {
    return (
      (this.s0 ^ keystream.readInt32LE(0) ^ tag.readInt32LE(0)) |
      (this.s1 ^ keystream.readInt32LE(4) ^ tag.readInt32LE(4)) |
      (this.s2 ^ keystream.readInt32LE(8) ^ tag.readInt32LE(8)) |
      (this.s3 ^ keystream.readInt32LE(12) ^ tag.readInt32LE(12))
    );
  }

  reset(): void {
    this.s0 = 0;
    this.s1 = 0;
    this.s2 = 0;
    this.s3 = 0;
  }
}

function byteSwap32(n: number): number {
  return ((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface OpenerEntry {
  opener: GcmOpener;
  lastUsed: number;
}

/**
 * The openers of the leased keys in use, at most `limit` of them (an opener holds about 30 KB: the OpenSSL context
 * and noble's GHASH table). A key gets one on its first local unwrap while there is room; beyond the limit, unwraps
 * under other keys take node:crypto's per-call decipher, as before. Openers are released when their lease is dropped
 * or leaves the cache, and after a minute unused, so a burst of tenants does not pin the room.
 */
export class GcmOpeners {
  private readonly entries = new Map<KeyObject, OpenerEntry>();

  constructor(readonly limit = 256) {}

  /** The key's opener, made now if there is room; undefined when the limit is reached. */
  get(key: KeyObject, now = Date.now()): GcmOpener | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      entry.lastUsed = now;
      return entry.opener;
    }
    if (this.entries.size >= this.limit) return undefined;
    const opener = new GcmOpener(key);
    this.entries.set(key, { opener, lastUsed: now });
    return opener;
  }

  release(key: KeyObject): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.opener.release();
  }

  /** Releases the openers unused for `idleMs` and those whose key `keep` no longer holds. */
  sweep(idleMs: number, keep: (key: KeyObject) => boolean, now = Date.now()): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.lastUsed >= idleMs || !keep(key)) {
        this.entries.delete(key);
        entry.opener.release();
      }
    }
  }

  close(): void {
    for (const entry of this.entries.values()) entry.opener.release();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
