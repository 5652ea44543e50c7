/**
 * The one error-code union of the proxy: the protocol codes of PROTOCOL.md §1.3, the HTTP status each is answered
 * with, and the single mapping from normalised KMS failures to codes 204–210.
 */
export type TspErrorCode = 100 | 101 | 102 | 200 | 201 | 202 | 203 | 204 | 205 | 206 | 207 | 208 | 209 | 210 | 301;

/** HTTP statuses other than 401 are not read by IronCore's clients; they follow PROTOCOL.md §1.3's advice. */
const HTTP_STATUS_BY_CODE: Record<TspErrorCode, number> = {
  100: 500,
  101: 401,
  102: 400,
  200: 400,
  201: 404,
  202: 403,
  203: 400,
  204: 502,
  205: 502,
  206: 502,
  207: 502,
  208: 503,
  209: 429,
  210: 502,
  301: 400,
};

export class TspError extends Error {
  readonly code: TspErrorCode;
  readonly httpStatus: number;
  /** `httpStatus` overrides the default only where the same code can be the caller's fault or the KMS's. */
  constructor(code: TspErrorCode, message: string, httpStatus?: number) {
    super(message);
    this.name = 'TspError';
    this.code = code;
    this.httpStatus = httpStatus ?? HTTP_STATUS_BY_CODE[code];
  }
}

/** Failures every KMS adapter normalises its SDK's errors into (kms-emulation.md §6.4). */
export type KmsErrorKind =
  | 'KeyNotFound'
  | 'KeyDisabled'
  | 'AccessDenied'
  | 'AuthFailed'
  | 'InvalidCiphertext'
  | 'IntegrityError'
  | 'Throttled'
  | 'Unavailable'
  | 'Timeout'
  | 'AccountIssue'
  | 'ConfigInvalid'
  | 'Unknown';

export class KmsError extends Error {
  readonly kind: KmsErrorKind;
  readonly retryAfterMs: number | undefined;
  constructor(kind: KmsErrorKind, message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'KmsError';
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
  /** Throttling, outages and timeouts may succeed on a later attempt; the rest will not. */
  get retryable(): boolean {
    return this.kind === 'Throttled' || this.kind === 'Unavailable' || this.kind === 'Timeout';
  }
}

export type KmsOperation = 'wrap' | 'unwrap';

/** The only place KMS failures become protocol codes. */
export function kmsErrorToTspError(error: KmsError, operation: KmsOperation): TspError {
  const prefix = operation === 'wrap' ? 'KMS wrap failed' : 'KMS unwrap failed';
  switch (error.kind) {
    case 'AuthFailed':
      return new TspError(206, `KMS authorization failed: ${error.message}`);
    case 'AccessDenied':
    case 'KeyNotFound':
    case 'KeyDisabled':
    case 'ConfigInvalid':
      return new TspError(207, `KMS config invalid: ${error.message}`);
    case 'Unavailable':
    case 'Timeout':
      return new TspError(208, `KMS unreachable: ${error.message}`);
    case 'Throttled':
      return new TspError(209, `KMS throttled: ${error.message}`);
    case 'AccountIssue':
      return new TspError(210, `KMS account issue: ${error.message}`);
    case 'InvalidCiphertext':
    case 'IntegrityError':
    case 'Unknown':
      return new TspError(operation === 'wrap' ? 204 : 205, `${prefix}: ${error.message}`);
  }
}

/** Anything thrown below the HTTP layer becomes a protocol error; unexpected ones are code 100. */
export function toTspError(error: unknown, operation: KmsOperation): TspError {
  if (error instanceof TspError) return error;
  if (error instanceof KmsError) return kmsErrorToTspError(error, operation);
  return new TspError(100, 'Unknown error');
}
