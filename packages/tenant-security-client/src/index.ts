export { TenantSecurityClient } from './client.js';
export type { TenantSecurityClientOptions, CallOptions, FetchLike } from './http.js';
export { DocumentMetadata, FieldMetadata, EventMetadata } from './metadata.js';
export type { MetadataJson, EventMetadataJson, IclFields } from './metadata.js';
export {
  SecurityEvent,
  UserEvent,
  DataEvent,
  AdminEvent,
  PeriodicEvent,
  CustomSecurityEvent,
} from './security-events.js';
export {
  TenantSecurityErrorCode,
  TenantSecurityException,
  TspServiceException,
  KmsException,
  SecurityEventException,
  TscException,
} from './errors.js';
export type {
  Base64String,
  BatchResult,
  EncryptedDocument,
  EncryptedDocumentWithEdek,
  EncryptedDocumentWithEdekCollection,
  PlaintextDocument,
  PlaintextDocumentCollection,
  PlaintextDocumentWithEdek,
  PlaintextDocumentWithEdekCollection,
  StreamingResponse,
} from './types.js';
