/**
 * Byte compatibility with IronCore's client, on the formats alone: the same DEK given to both, documents and
 * streams encrypted by one decrypt with the other. (The same in both directions through the proxy is in
 * integration.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { decryptDocumentFields, encryptDocumentFields, isCiphertext } from '../src/document-format.js';
import { StreamDecryptor, StreamEncryptor, nodeTransform } from '../src/streams.js';

// IronCore's internal crypto module (the same functions its client calls after a wrap/unwrap).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ironcore = require('@ironcorelabs/tenant-security-nodejs/src/kms/Crypto') as {
  encryptDocument(
    document: Record<string, Buffer>,
    dek: string,
    tenantId: string,
  ): { toPromise(): Promise<Record<string, Buffer>> };
  decryptDocument(document: Record<string, Buffer>, dek: string): { toPromise(): Promise<Record<string, Buffer>> };
  encryptStream(
    input: NodeJS.ReadableStream,
    output: NodeJS.WritableStream,
    dek: string,
    tenantId: string,
  ): { toPromise(): Promise<unknown> };
  decryptStream(
    input: NodeJS.ReadableStream,
    output: NodeJS.WritableStream,
    dek: string,
  ): { toPromise(): Promise<unknown> };
};

function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

describe('interoperability with IronCore on the formats', () => {
  it('documents: IronCore → OpenCMK and OpenCMK → IronCore (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ minLength: 1 }), fc.uint8Array({ maxLength: 1500 }), { minKeys: 1, maxKeys: 6 }),
        async (fields) => {
          fc.pre(Object.values(fields).every((value) => !isCiphertext(value)));
          // IronCore's client builds its results by assignment, so a field named "__proto__" is lost there (ours keeps it).
          fc.pre(!Object.hasOwn(fields, '__proto__'));
          const dek = randomBytes(32);
          const document = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, Buffer.from(value)]));
          const byIronCore = await ironcore.encryptDocument(document, dek.toString('base64'), 'tenant-aws').toPromise();
          const ours = decryptDocumentFields(byIronCore, dek);
          const byUs = encryptDocumentFields(document, dek, 'tenant-aws');
          const theirs = await ironcore.decryptDocument(byUs, dek.toString('base64')).toPromise();
          for (const key of Object.keys(document)) {
            expect(ours[key]!.equals(document[key]!)).toBe(true);
            expect(Buffer.from(theirs[key]!).equals(document[key]!)).toBe(true);
            // Same overhead per field: same header, IV and tag sizes.
            expect(byUs[key]!.length).toBe(byIronCore[key]!.length);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('streams: IronCore → OpenCMK (any length, also < 16 bytes) and OpenCMK → IronCore', async () => {
    for (const size of [0, 1, 15, 16, 17, 64 * 1024 + 3]) {
      const dek = randomBytes(32);
      const plaintext = randomBytes(size);

      const ironcoreOut = collector();
      await ironcore
        .encryptStream(Readable.from([plaintext]), ironcoreOut.sink, dek.toString('base64'), 'tenant-gcp')
        .toPromise();
      const decrypted = collector();
      await pipeline(Readable.from([ironcoreOut.bytes()]), nodeTransform(new StreamDecryptor(dek)), decrypted.sink);
      expect(decrypted.bytes().equals(plaintext)).toBe(true);

      const oursOut = collector();
      await pipeline(Readable.from([plaintext]), nodeTransform(new StreamEncryptor(dek, 'tenant-gcp')), oursOut.sink);
      expect(oursOut.bytes().length).toBe(ironcoreOut.bytes().length);
      if (size >= 16) {
        // IronCore's decryptStream needs at least one full block of plaintext; ours does not (tested above).
        const input = new PassThrough();
        input.end(oursOut.bytes());
        const theirs = collector();
        await ironcore.decryptStream(input, theirs.sink, dek.toString('base64')).toPromise();
        expect(theirs.bytes().equals(plaintext)).toBe(true);
      }
    }
  });
});
