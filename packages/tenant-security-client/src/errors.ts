/**
 * The error classes and codes of IronCore's Node client (`@ironcorelabs/tenant-security-nodejs` 4.1.3), kept with the
 * same names, numbers and class hierarchy so that code written against IronCore's client catches the same things.
 * `TenantSecurityErrorCode` is this package's one error-code union.
 */
export enum TenantSecurityErrorCode {
  UNABLE_TO_MAKE_REQUEST = 0,
  UNKNOWN_ERROR = 100,
  UNAUTHORIZED_REQUEST = 101,
  INVALID_REQUEST_BODY = 102,
  NO_PRIMARY_KMS_CONFIGURATION = 200,
  UNKNOWN_TENANT_OR_NO_ACTIVE_KMS_CONFIGURATIONS = 201,
  KMS_CONFIGURATION_DISABLED = 202,
  INVALID_PROVIDED_EDEK = 203,
  KMS_WRAP_FAILED = 204,
  KMS_UNWRAP_FAILED = 205,
  KMS_AUTHORIZATION_FAILED = 206,
  KMS_CONFIGURATION_INVALID = 207,
  KMS_UNREACHABLE = 208,
  KMS_THROTTLED = 209,
  KMS_ACCOUNT_ISSUE = 210,
  SECURITY_EVENT_REJECTED = 301,
  INVALID_ENCRYPTED_DOCUMENT = 900,
  DOCUMENT_ENCRYPT_FAILED = 901,
  DOCUMENT_DECRYPT_FAILED = 902,
  DETERMINISTIC_FIELD_ENCRYPT_FAILED = 903,
  DETERMINISTIC_FIELD_DECRYPT_FAILED = 904,
  DETERMINISTIC_HEADER_ERROR = 905,
  DETERMINISTIC_ROTATE_FAILED = 906,
  DETERMINISTIC_GENERATE_SEARCH_TERMS_FAILED = 907,
}

const knownCodes = new Set<number>(
  Object.values(TenantSecurityErrorCode).filter((value): value is number => typeof value === 'number'),
);

export function isKnownErrorCode(code: number): code is TenantSecurityErrorCode {
  return knownCodes.has(code);
}

export abstract class TenantSecurityException extends Error {
  errorCode: TenantSecurityErrorCode;
  /** HTTP status of the proxy's answer, when the error came from one. */
  httpResponseCode?: number;

  constructor(code: number, message: string, httpResponseCode?: number) {
    super(message);
    this.name = new.target.name;
    // IronCore maps codes it does not know to 100 rather than carrying an arbitrary number.
    this.errorCode = isKnownErrorCode(code) ? code : TenantSecurityErrorCode.UNKNOWN_ERROR;
    this.httpResponseCode = httpResponseCode;
  }
}

/** Codes 0 and 100–199: the request could not be made, or the proxy refused it. */
export class TspServiceException extends TenantSecurityException {
  constructor(code: number, message: string, httpResponseCode?: number) {
    super(code < 0 || code > 199 ? TenantSecurityErrorCode.UNKNOWN_ERROR : code, message, httpResponseCode);
  }
}

/** Codes 200–299: the tenant's KMS configuration or the KMS call failed. */
export class KmsException extends TenantSecurityException {
  constructor(code: number, message: string, httpResponseCode?: number) {
    if (code < 200 || code > 299) throw new Error('KmsException constructed with code outside of recognized range.');
    super(code, message, httpResponseCode);
  }
}

/** Code 301: the proxy rejected a security event. */
export class SecurityEventException extends TenantSecurityException {
  constructor(code: number, message: string, httpResponseCode?: number) {
    if (code !== TenantSecurityErrorCode.SECURITY_EVENT_REJECTED) {
      throw new Error('SecurityEventException constructed with code outside of recognized range.');
    }
    super(code, message, httpResponseCode);
  }
}

/** Codes 900–999: local failures (bad ciphertext, authentication failure, refused input). */
export class TscException extends TenantSecurityException {
  constructor(code: number, message: string) {
    if (code < 900 || code > 999) throw new Error('TscException constructed with code outside of recognized range.');
    super(code, message);
  }
}

/** The exception class for a code from the proxy, as IronCore's `TenantSecurityExceptionUtils.from` chooses it. */
export function exceptionFromCode(code: number, message: string, httpStatus?: number): TenantSecurityException {
  if (!Number.isInteger(code) || !isKnownErrorCode(code)) {
    return new TspServiceException(
      TenantSecurityErrorCode.UNKNOWN_ERROR,
      `TSP status code outside of recognized range (${String(code)}): ${message}`,
      httpStatus,
    );
  }
  if (code === 0 || (code >= 100 && code < 200)) return new TspServiceException(code, message, httpStatus);
  if (code >= 200 && code < 300) return new KmsException(code, message, httpStatus);
  if (code >= 300 && code < 400) return new SecurityEventException(code, message, httpStatus);
  return new TscException(code, message);
}
