/**
 * Security events, as IronCore's client names them; `getFlatEvent()` gives the wire name (PROTOCOL.md §1.2).
 */
export abstract class SecurityEvent {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  abstract getFlatEvent(): string;
}

export class UserEvent extends SecurityEvent {
  private constructor(name: string) {
    super(name);
  }
  static readonly ADD = new UserEvent('ADD');
  static readonly SUSPEND = new UserEvent('SUSPEND');
  static readonly REMOVE = new UserEvent('REMOVE');
  static readonly LOGIN = new UserEvent('LOGIN');
  static readonly TIMEOUT_SESSION = new UserEvent('TIMEOUT_SESSION');
  static readonly LOCKOUT = new UserEvent('LOCKOUT');
  static readonly LOGOUT = new UserEvent('LOGOUT');
  static readonly CHANGE_PERMISSIONS = new UserEvent('CHANGE_PERMISSIONS');
  static readonly EXPIRE_PASSWORD = new UserEvent('EXPIRE_PASSWORD');
  static readonly RESET_PASSWORD = new UserEvent('RESET_PASSWORD');
  static readonly CHANGE_PASSWORD = new UserEvent('CHANGE_PASSWORD');
  static readonly REJECT_LOGIN = new UserEvent('REJECT_LOGIN');
  static readonly ENABLE_TWO_FACTOR = new UserEvent('ENABLE_TWO_FACTOR');
  static readonly DISABLE_TWO_FACTOR = new UserEvent('DISABLE_TWO_FACTOR');
  static readonly CHANGE_EMAIL = new UserEvent('CHANGE_EMAIL');
  static readonly REQUEST_EMAIL_VERIFICATION = new UserEvent('REQUEST_EMAIL_VERIFICATION');
  static readonly VERIFY_EMAIL = new UserEvent('VERIFY_EMAIL');
  getFlatEvent(): string {
    return `USER_${this.name}`;
  }
}

export class DataEvent extends SecurityEvent {
  private constructor(name: string) {
    super(name);
  }
  static readonly IMPORT = new DataEvent('IMPORT');
  static readonly EXPORT = new DataEvent('EXPORT');
  static readonly ENCRYPT = new DataEvent('ENCRYPT');
  static readonly DECRYPT = new DataEvent('DECRYPT');
  static readonly CREATE = new DataEvent('CREATE');
  static readonly DELETE = new DataEvent('DELETE');
  static readonly DENY_ACCESS = new DataEvent('DENY_ACCESS');
  static readonly CHANGE_PERMISSIONS = new DataEvent('CHANGE_PERMISSIONS');
  getFlatEvent(): string {
    return `DATA_${this.name}`;
  }
}

export class AdminEvent extends SecurityEvent {
  private constructor(name: string) {
    super(name);
  }
  static readonly ADD = new AdminEvent('ADD');
  static readonly REMOVE = new AdminEvent('REMOVE');
  static readonly CHANGE_PERMISSIONS = new AdminEvent('CHANGE_PERMISSIONS');
  static readonly CHANGE_SETTING = new AdminEvent('CHANGE_SETTING');
  getFlatEvent(): string {
    return `ADMIN_${this.name}`;
  }
}

export class PeriodicEvent extends SecurityEvent {
  private constructor(name: string) {
    super(name);
  }
  static readonly ENFORCE_RETENTION_POLICY = new PeriodicEvent('ENFORCE_RETENTION_POLICY');
  static readonly CREATE_BACKUP = new PeriodicEvent('CREATE_BACKUP');
  getFlatEvent(): string {
    return `PERIODIC_${this.name}`;
  }
}

/**
 * An application-defined event, sent as `CUSTOM_<NAME>`. IronCore's check is unanchored (it accepts "abc_X"); this
 * one requires the whole name to be SCREAMING_SNAKE_CASE starting with a letter, as IronCore's message says.
 */
const customEventName = /^[A-Z][A-Z0-9_]*$/;

export class CustomSecurityEvent extends SecurityEvent {
  constructor(name: string) {
    if (typeof name !== 'string' || !customEventName.test(name)) {
      throw new Error('Custom event must be SCREAMING_SNAKE_CASE, not empty, and start with a letter.');
    }
    super(name);
  }
  getFlatEvent(): string {
    return `CUSTOM_${this.name}`;
  }
}
