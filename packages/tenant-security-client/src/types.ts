/** Document shapes, as IronCore's client names them. Values may be any Uint8Array; results are Buffers. */
import type { TenantSecurityException } from './errors.js';

export type Base64String = string;
export type PlaintextDocument = Record<string, Uint8Array>;
export type EncryptedDocument = Record<string, Uint8Array>;

export interface EncryptedDocumentWithEdek {
  encryptedDocument: EncryptedDocument;
  edek: Base64String;
}

export interface PlaintextDocumentWithEdek {
  plaintextDocument: PlaintextDocument;
  edek: Base64String;
}

export interface StreamingResponse {
  edek: Base64String;
}

export type PlaintextDocumentCollection = Record<string, PlaintextDocument>;
export type PlaintextDocumentWithEdekCollection = Record<string, PlaintextDocumentWithEdek>;
export type EncryptedDocumentWithEdekCollection = Record<string, EncryptedDocumentWithEdek>;

export interface BatchResult<T> {
  successes: Record<string, T>;
  failures: Record<string, TenantSecurityException>;
  hasSuccesses: boolean;
  hasFailures: boolean;
}
