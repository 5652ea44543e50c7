/** The broker's one error-code union; lib/server/http.ts maps each code to an HTTP status in one place. */
export type BrokerErrorCode =
  | 'INVALID_INPUT'
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'WRONG_ACCOUNT'
  | 'RATE_LIMITED'
  | 'FEATURE_DISABLED';

export type FieldErrors = Record<string, string[]>;

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    readonly fieldErrors?: FieldErrors,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export const httpStatusOf: Record<BrokerErrorCode, number> = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  WRONG_ACCOUNT: 403,
  // Another organization's rows answer exactly like rows that do not exist (never 403: that would reveal them).
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  FEATURE_DISABLED: 404,
};

export const notFound = (what = 'Not found') => new BrokerError('NOT_FOUND', what);
export const invalidInput = (message: string, fieldErrors?: FieldErrors) =>
  new BrokerError('INVALID_INPUT', message, fieldErrors);
