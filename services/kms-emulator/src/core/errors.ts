/** The one error-code union of this package: what the control API (in-process and HTTP) answers on bad input. */
export type EmulatorErrorCode =
  | 'INVALID_ARGUMENT' // the control call's input failed validation
  | 'NOT_FOUND' // the named key, principal, vault or sink does not exist
  | 'ALREADY_EXISTS' // a key or principal with that id is already registered
  | 'FAILED_PRECONDITION' // the object exists but is in a state that forbids the change
  | 'UNKNOWN_METHOD'; // no such control method

const httpStatusByCode: Record<EmulatorErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  UNKNOWN_METHOD: 404,
};

export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
  constructor(
    readonly code: EmulatorErrorCode,
    message: string,
  ) {
    super(message);
  }
  get httpStatus(): number {
    return httpStatusByCode[this.code];
  }
}
