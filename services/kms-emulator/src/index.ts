export { startEmulators, type Emulators, type EmulatorsDescription, type StartEmulatorsOptions } from './emulators.js';
export { DEMO, type DemoWorld } from './seed.js';
export { AwsEmulator, type AwsKeyInfo, type AwsKeyState, type AwsUserCredentials } from './aws/aws-emulator.js';
export { GcpEmulator, type GcpKeyInfo, type GcpRole, type GcpVersionState } from './gcp/gcp-emulator.js';
export { GcpIdentity, type ServiceAccountKeyJson } from './gcp/gcp-identity.js';
export { AzureVaultEmulator, type AzureKeyInfo } from './azure/azure-emulator.js';
export { EntraDirectory, type AzureAppCredentials } from './azure/entra.js';
export {
  SinkEmulator,
  type SinkEvent,
  type SinkName,
  type SplunkEvent,
  type GcpLogEntry,
  type WebhookDelivery,
} from './sinks/sink-emulator.js';
export {
  FaultInjector,
  faultErrorKinds,
  type FaultErrorKind,
  type FaultRule,
  type FaultRuleInput,
  type FaultMatch,
} from './core/faults.js';
export { RequestLog, type RequestLogEntry, type RequestLogFilter } from './core/request-log.js';
export { EmulatorError, type EmulatorErrorCode } from './core/errors.js';
export { createCertificateAuthority, type CertificateAuthority } from './tls/certificates.js';
export { crc32c } from './core/crc32c.js';
export { createCaTrustingFetch } from './testing/ca-fetch.js';
