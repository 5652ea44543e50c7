import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';

/** Constant-time comparison of secrets (tokens, signatures, external ids); unequal lengths compare as unequal. */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  if (left.length !== right.length) {
    // Still spend a comparison so timing does not reveal where the mismatch was found.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export function randomId(prefix = '', bytes = 12): string {
  return prefix + randomBytes(bytes).toString('hex');
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function randomUpperAlnum(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => UPPER_ALNUM[byte % 32]).join('');
}

export function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function base64UrlEncode(data: Buffer): string {
  return data.toString('base64url');
}

/** Strict base64 (standard or url alphabet) decoding: answers undefined for anything that is not valid base64. */
export function decodeBase64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const normalized = text.replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normalized)) return undefined;
  const unpadded = normalized.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  return Buffer.from(normalized, 'base64');
}

export function xmlEscape(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** decodeURIComponent that answers undefined for malformed escapes instead of throwing (bad paths are 4xx, not 500). */
export function decodePathSegment(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
