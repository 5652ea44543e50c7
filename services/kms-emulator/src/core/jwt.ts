/** Compact JWS (RFC 7515) helpers: RS256 verification for Google service-account JWTs, HS256 for Entra tokens. */
import { createHmac, verify, type KeyObject } from 'node:crypto';
import { safeEqual } from './util.js';

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header = '', payload = '', signature = ''] = parts;
  try {
    const parsedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    const parsedPayload = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (
      typeof parsedHeader !== 'object' ||
      parsedHeader === null ||
      typeof parsedPayload !== 'object' ||
      parsedPayload === null
    )
      return undefined;
    return {
      header: parsedHeader,
      payload: parsedPayload,
      signingInput: `${header}.${payload}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** RFC 7518 §3.3: RS256 is RSASSA-PKCS1-v1_5 with SHA-256. */
export function verifyRs256(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  if (jwt.header.alg !== 'RS256') return false;
  return verify('RSA-SHA256', Buffer.from(jwt.signingInput), publicKey, jwt.signature);
}

export function signHs256(payload: Record<string, unknown>, secret: Buffer): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** RFC 7518 §3.2: HS256; the MAC is compared in constant time. */
export function verifyHs256(token: string, secret: Buffer): Record<string, unknown> | undefined {
  const jwt = decodeJwt(token);
  if (!jwt || jwt.header.alg !== 'HS256') return undefined;
  const expected = createHmac('sha256', secret).update(jwt.signingInput).digest();
  return safeEqual(expected, jwt.signature) ? jwt.payload : undefined;
}
