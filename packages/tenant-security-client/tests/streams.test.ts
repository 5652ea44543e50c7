import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { decryptField, encryptDocumentFields } from '../src/document-format.js';
import { TenantSecurityErrorCode, TscException } from '../src/errors.js';
import { StreamDecryptor, StreamEncryptor, nodeTransform, webTransform, type StreamCore } from '../src/streams.js';

/** Splits `bytes` at the given cut points (sorted, deduplicated, clamped). */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function runCore(core: StreamCore, chunks: Uint8Array[]): Buffer {
  const output: Uint8Array[] = [];
  for (const chunk of chunks) output.push(...core.update(chunk));
  output.push(...core.finish());
  return Buffer.concat(output);
}

async function viaNode(core: StreamCore, chunks: Uint8Array[]): Promise<Buffer> {
  const output: Buffer[] = [];
  await pipeline(
    Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
    nodeTransform(core),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(output);
}

async function viaWeb(core: StreamCore, chunks: Uint8Array[]): Promise<Buffer> {
  const output: Uint8Array[] = [];
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  await source
    .pipeThrough(webTransform(core))
    .pipeTo(new WritableStream({ write: (chunk) => void output.push(chunk) }));
  return Buffer.concat(output);
}

describe('stream encryption', () => {
  it('writes exactly the layout of a document field, which decryptField reads', () => {
    const dek = randomBytes(32);
    const plaintext = randomBytes(1000);
    const encrypted = runCore(new StreamEncryptor(dek, 'tenant'), chunked(plaintext, [1, 17, 500]));
    const headerEnd = 7 + encrypted.readUInt16BE(5);
    expect(encrypted.length).toBe(headerEnd + 12 + plaintext.length + 16);
    expect(decryptField(encrypted, dek).equals(plaintext)).toBe(true);
    // And a document field decrypts as a stream.
    const field = encryptDocumentFields({ f: plaintext }, dek, 'tenant')['f']!;
    expect(runCore(new StreamDecryptor(dek), [field]).equals(plaintext)).toBe(true);
  });

  it('round-trips any plaintext length, including 0 and < 16 bytes, under any chunking (fast-check)', () => {
    const dek = randomBytes(32);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(400), { maxLength: 8 }),
        fc.array(fc.nat(400), { maxLength: 8 }),
        (plaintext, encryptCuts, decryptCuts) => {
          const encrypted = runCore(new StreamEncryptor(dek, 'tenant-azure'), chunked(plaintext, encryptCuts));
          const decrypted = runCore(new StreamDecryptor(dek), chunked(encrypted, decryptCuts));
          expect(decrypted.equals(Buffer.from(plaintext))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('works the same through Node streams and Web Streams', async () => {
    const dek = randomBytes(32);
    for (const size of [0, 5, 15, 16, 17, 100_000]) {
      const plaintext = randomBytes(size);
      const fromNode = await viaNode(new StreamEncryptor(dek, 't'), chunked(plaintext, [3, 4000]));
      const fromWeb = await viaWeb(new StreamEncryptor(dek, 't'), chunked(plaintext, [7, 9000]));
      expect((await viaWeb(new StreamDecryptor(dek), chunked(fromNode, [2, 30, 31, 60]))).equals(plaintext)).toBe(true);
      expect((await viaNode(new StreamDecryptor(dek), chunked(fromWeb, [1, 50]))).equals(plaintext)).toBe(true);
    }
  });

  it('refuses a change of any single bit, and truncation, as stream errors', async () => {
    const dek = randomBytes(32);
    const encrypted = runCore(new StreamEncryptor(dek, 'tenant'), [Buffer.from('short')]);
    for (let bit = 0; bit < encrypted.length * 8; bit += 1) {
      const tampered = Buffer.from(encrypted);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => runCore(new StreamDecryptor(dek), chunked(tampered, [bit % 40]))).toThrow(TscException);
    }
    for (let length = 0; length < encrypted.length; length += 1) {
      expect(() => runCore(new StreamDecryptor(dek), [encrypted.subarray(0, length)])).toThrow(TscException);
    }
    await expect(
      viaNode(new StreamDecryptor(dek), [encrypted.subarray(0, encrypted.length - 1)]),
    ).rejects.toMatchObject({ errorCode: TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED });
    await expect(viaWeb(new StreamDecryptor(randomBytes(32)), [encrypted])).rejects.toMatchObject({
      errorCode: TenantSecurityErrorCode.DOCUMENT_DECRYPT_FAILED,
    });
  });
});
