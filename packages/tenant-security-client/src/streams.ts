/**
 * Streaming encryption in the v3 layout (header, IV, ciphertext, tag: PROTOCOL.md §3.1), in constant memory, for
 * Node streams and Web Streams alike. One core per direction turns input chunks into output chunks; the Node and
 * Web wrappers only adapt it.
 *
 * Decryption necessarily hands out plaintext before the final tag has been checked (GCM authenticates at the end).
 * The stream errors when the tag fails; callers must then discard whatever was written.
 */
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  FIXED_HEADER_LENGTH,
  IV_LENGTH,
  TAG_LENGTH,
  createDocumentHeader,
  headerLength,
  parseDocumentHeader,
  verifyDocumentHeader,
  writeRandomIv,
} from './document-format.js';
import { TenantSecurityErrorCode, TscException } from './errors.js';

const AES_ALGORITHM = 'aes-256-gcm';

export interface StreamCore {
  /** Output for one input chunk (possibly empty). Throws a TscException on bad input. */
  update(chunk: Uint8Array): Uint8Array[];
  /** Output at the end of the input. Throws a TscException when the input was incomplete or failed to authenticate. */
  finish(): Uint8Array[];
}

export class StreamEncryptor implements StreamCore {
  private readonly cipher: CipherGCM;
  private prefix: Buffer | undefined;

  constructor(dek: Uint8Array, tenantId: string) {
    const header = createDocumentHeader(dek, tenantId);
    const prefix = Buffer.allocUnsafe(header.length + IV_LENGTH);
    header.copy(prefix, 0);
    writeRandomIv(prefix, header.length);
    this.cipher = createCipheriv(AES_ALGORITHM, dek, prefix.subarray(header.length), { authTagLength: TAG_LENGTH });
    this.prefix = prefix;
  }

  private takePrefix(): Uint8Array[] {
    const prefix = this.prefix;
    this.prefix = undefined;
    return prefix ? [prefix] : [];
  }

  update(chunk: Uint8Array): Uint8Array[] {
    const output = this.takePrefix();
    if (chunk.length > 0) output.push(this.cipher.update(chunk));
    return output;
  }

  finish(): Uint8Array[] {
    const output = this.takePrefix();
    const rest = this.cipher.final();
    if (rest.length > 0) output.push(rest);
    output.push(this.cipher.getAuthTag());
    return output;
  }
}

function decryptFailed(message: string): TscException {
  return new TscException(TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED, message);
}

/**
 * Reads the header and IV, then decrypts everything but the last 16 bytes, which are held back as the candidate tag.
 * Holding back only the tag (not a block as well) is what lets plaintexts shorter than 16 bytes through.
 */
export class StreamDecryptor implements StreamCore {
  private readonly dek: Uint8Array;
  private decipher: DecipherGCM | undefined;
  /** Bytes of header and IV gathered so far, before the decipher exists. Bounded by 7 + 65535 + 12. */
  private pending: Buffer = Buffer.alloc(0);
  /** The last (up to) 16 bytes seen: the tag, once the input ends. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(dek: Uint8Array) {
    this.dek = dek;
  }

  update(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length === 0) return [];
    if (!this.decipher) {
      this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
      const rest = this.tryStart();
      if (rest === undefined) return [];
      return this.decryptBody(rest);
    }
    return this.decryptBody(chunk);
  }

  /** Once header and IV are complete: verifies the header, creates the decipher, returns the remaining bytes. */
  private tryStart(): Uint8Array | undefined {
    const pending = this.pending;
    if (pending.length < FIXED_HEADER_LENGTH) return undefined;
    const bodyOffset = headerLength(pending);
    if (pending.length < bodyOffset + IV_LENGTH) return undefined;
    if (bodyOffset > FIXED_HEADER_LENGTH) {
      verifyDocumentHeader(parseDocumentHeader(pending.subarray(FIXED_HEADER_LENGTH, bodyOffset)), this.dek);
    }
    const ivEnd = bodyOffset + IV_LENGTH;
    this.decipher = createDecipheriv(AES_ALGORITHM, this.dek, pending.subarray(bodyOffset, ivEnd), {
      authTagLength: TAG_LENGTH,
    });
    this.pending = Buffer.alloc(0);
    return pending.subarray(ivEnd);
  }

  private decryptBody(chunk: Uint8Array): Uint8Array[] {
    const decipher = this.decipher!;
    const output: Uint8Array[] = [];
    if (chunk.length >= TAG_LENGTH) {
      // Everything held back so far is ciphertext now; the new tail comes from the end of this chunk.
      if (this.tail.length > 0) output.push(decipher.update(this.tail));
      const bodyEnd = chunk.length - TAG_LENGTH;
      if (bodyEnd > 0) output.push(decipher.update(chunk.subarray(0, bodyEnd)));
      this.tail = Buffer.from(chunk.subarray(bodyEnd));
    } else {
      const combined = Buffer.concat([this.tail, chunk]);
      const bodyEnd = Math.max(0, combined.length - TAG_LENGTH);
      if (bodyEnd > 0) output.push(decipher.update(combined.subarray(0, bodyEnd)));
      this.tail = combined.subarray(bodyEnd);
    }
    return output;
  }

  finish(): Uint8Array[] {
    if (!this.decipher) {
      if (this.pending.length >= FIXED_HEADER_LENGTH) headerLength(this.pending);
      throw new TscException(
        TenantSecurityErrorCode.INVALID_ENCRYPTED_DOCUMENT,
        'The encrypted stream ended before its header and IV were complete.',
      );
    }
    if (this.tail.length !== TAG_LENGTH)
      throw decryptFailed('The encrypted stream is too short to hold an authentication tag.');
    this.decipher.setAuthTag(this.tail);
    try {
      const rest = this.decipher.final();
      return rest.length > 0 ? [rest] : [];
    } catch {
      throw decryptFailed('Data could not be decrypted because it failed to authenticate.');
    }
  }
}

/** A Node Transform around a core; errors from the core become stream errors. */
export function nodeTransform(core: StreamCore): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      try {
        for (const piece of core.update(chunk)) this.push(piece);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        for (const piece of core.finish()) this.push(piece);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/** A Web Streams TransformStream around a core. */
export function webTransform(core: StreamCore): TransformStream<Uint8Array, Uint8Array> {
  const failureCode =
    core instanceof StreamEncryptor
      ? TenantSecurityErrorCode.DOCUMENT_ENCRYPT_FAILED
      : TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (!(chunk instanceof Uint8Array)) throw new TscException(failureCode, 'Web stream chunks must be Uint8Array.');
      for (const piece of core.update(chunk)) controller.enqueue(piece);
    },
    flush(controller) {
      for (const piece of core.finish()) controller.enqueue(piece);
    },
  });
}
