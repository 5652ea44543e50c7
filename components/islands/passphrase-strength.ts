'use client';

/**
 * A rough guessing-entropy estimate for the encryption passphrase: the character pool actually used times length,
 * discounted for repeated characters and runs. argon2id slows guessing; it cannot rescue a short passphrase.
 */
export interface Strength {
  bits: number;
  label: 'too weak' | 'weak' | 'fair' | 'strong' | 'very strong';
  acceptable: boolean;
}

export const MIN_PASSPHRASE_LENGTH = 12;
const MIN_BITS = 60;

export function passphraseStrength(passphrase: string): Strength {
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(passphrase)) pool += 33;
  const chars = [...passphrase];
  const distinct = new Set(chars).size;
  let effective = 0;
  for (let i = 0; i < chars.length; i++) {
    const repeatsPrevious = i > 0 && (chars[i] === chars[i - 1] || chars[i]!.charCodeAt(0) - chars[i - 1]!.charCodeAt(0) === 1);
    effective += repeatsPrevious ? 0.25 : 1;
  }
  const bits = pool ? Math.round(effective * Math.log2(pool) * Math.min(1, distinct / 6)) : 0;
  const label = bits < 40 ? 'too weak' : bits < MIN_BITS ? 'weak' : bits < 80 ? 'fair' : bits < 110 ? 'strong' : 'very strong';
  return { bits, label, acceptable: chars.length >= MIN_PASSPHRASE_LENGTH && bits >= MIN_BITS };
}
