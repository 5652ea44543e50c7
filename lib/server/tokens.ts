import 'server-only';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer secret for an e-mailed link: 256 bits from the CSPRNG, base64url, with a recognisable prefix. */
export function newSecretToken(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Only this digest is stored; a database reader cannot turn it back into a usable link. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time comparison of two secrets' digests (equal length by construction). */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
