/**
 * Every failure of this package, as one union. Callers branch on `code`; the message is for logs and never
 * contains key material, passphrases or plaintext.
 *
 * - `WRONG_RECIPIENT`: the blob was sealed to a different public key than the one belonging to the given private key.
 * - `CONTEXT_MISMATCH`: the blob was sealed for another purpose, vendor, tenant, subject or subject version.
 * - `TAMPERED`: authentication failed (ciphertext, `enc` or header changed, or bound data forged).
 * - `UNSUPPORTED_VERSION`: a format version, cipher suite or parameter set this build does not accept.
 * - `MALFORMED`: input that is not a well-formed blob, encoding, context or argument.
 * - `WRONG_PASSPHRASE`: a protected private key could not be unlocked with the passphrase given.
 * - `INVALID_KEY`: a key of the wrong type or length, or a low-order X25519 public key.
 */
export type CryptoErrorCode =
  | 'WRONG_RECIPIENT'
  | 'CONTEXT_MISMATCH'
  | 'TAMPERED'
  | 'UNSUPPORTED_VERSION'
  | 'MALFORMED'
  | 'WRONG_PASSPHRASE'
  | 'INVALID_KEY';

/** The only error type this package throws; primitive exceptions are always translated into one of these. */
export class CryptoError extends Error {
  /** Machine-readable reason, see {@link CryptoErrorCode}. */
  readonly code: CryptoErrorCode;

  /**
   * @param code - machine-readable reason
   * @param message - human-readable detail; must never include secrets
   */
  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/** True when `error` is a {@link CryptoError}, optionally of the given code. */
export function isCryptoError(error: unknown, code?: CryptoErrorCode): error is CryptoError {
  return error instanceof CryptoError && (code === undefined || error.code === code);
}
