/**
 * Independent AWS Signature Version 4 verification with node:crypto (AWS IAM User Guide, "Create a signed AWS API
 * request": canonical request, string to sign, derived signing key). No AWS library is used on the server side, so
 * the SDK's signer is checked rather than mirrored.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual } from '../core/util.js';

export interface SigV4Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type SigV4Failure =
  | { code: 'MissingAuthenticationToken'; message: string }
  | { code: 'IncompleteSignature'; message: string }
  | { code: 'InvalidSignature'; message: string }
  | { code: 'SignatureExpired'; message: string };

const AUTH_PATTERN =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;\-_.]+),\s*Signature=([0-9a-f]{64})$/;

export function parseAuthorization(headers: IncomingHttpHeaders): ParsedAuthorization | SigV4Failure {
  const header = headers.authorization;
  if (!header) return { code: 'MissingAuthenticationToken', message: 'Missing Authentication Token' };
  const match = AUTH_PATTERN.exec(header.trim());
  if (!match) {
    return {
      code: 'IncompleteSignature',
      message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.`,
    };
  }
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

function uriEncode(text: string): string {
  // RFC 3986 unreserved characters stay; everything else is percent-encoded with upper-case hex.
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query.entries()]
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : String(value)).trim().replace(/\s+/g, ' ');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Parses an `x-amz-date` (yyyyMMddTHHmmssZ) into epoch milliseconds. */
export function parseAmzDate(value: string | undefined): number | undefined {
  const match = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}

/**
 * Verifies the signature with the secret registered for `auth.accessKeyId`. `now` is the emulator's clock, which a
 * test may skew to provoke "Signature expired".
 */
export function verifySigV4(
  request: SigV4Request,
  auth: ParsedAuthorization,
  secretAccessKey: string,
  now: number,
): SigV4Failure | null {
  if (!auth.signedHeaders.includes('host')) {
    return {
      code: 'InvalidSignature',
      message: `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`,
    };
  }
  const amzDate = headerValue(request.headers, 'x-amz-date');
  const signedAt = parseAmzDate(amzDate);
  if (!amzDate || signedAt === undefined || !amzDate.startsWith(auth.date)) {
    return {
      code: 'IncompleteSignature',
      message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP',
    };
  }
  // SigV4: requests are valid for five minutes either side of the service's clock.
  if (Math.abs(now - signedAt) > 5 * 60 * 1000) {
    const nowStamp = new Date(now)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    return {
      code: 'SignatureExpired',
      message: `Signature expired: ${amzDate} is now earlier than ${nowStamp} (${nowStamp} - 5 min.)`,
    };
  }
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== bodyHash) {
    return {
      code: 'InvalidSignature',
      message: 'The provided x-amz-content-sha256 header does not match the computed body hash.',
    };
  }
  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    request.path || '/',
    canonicalQuery(request.query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    declaredHash === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : bodyHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, auth.date), auth.region), auth.service),
    'aws4_request',
  );
  const expected = hmac(signingKey, stringToSign).toString('hex');
  if (!safeEqual(expected, auth.signature)) {
    return {
      code: 'InvalidSignature',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return null;
}
