/**
 * Child process of bench.ts: pushes STREAM_BYTES (default 1 GiB) through stream encryption and straight into stream
 * decryption, for Node streams or Web Streams (argv[2]), and reports throughput, RSS growth and whether the
 * plaintext came out unchanged (SHA-256 of what went in and what came out). Runs alone so RSS is its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StreamDecryptor, StreamEncryptor, nodeTransform, webTransform } from '../src/streams.js';

const kind = process.argv[2] === 'web' ? 'web' : 'node';
const totalBytes = Number(process.env['STREAM_BYTES'] ?? 1024 ** 3);
const chunkSize = 64 * 1024;
const dek = randomBytes(32);
const block = randomBytes(chunkSize);

const inputHash = createHash('sha256');
const outputHash = createHash('sha256');
let produced = 0;
let consumed = 0;

function nextChunk(): Buffer | undefined {
  if (produced >= totalBytes) return undefined;
  const size = Math.min(chunkSize, totalBytes - produced);
  // A fresh view with one varying byte, so the data is not one repeated block.
  const chunk = Buffer.from(block.subarray(0, size));
  chunk.writeUInt32BE(produced / chunkSize, 0);
  produced += size;
  inputHash.update(chunk);
  return chunk;
}

global.gc?.();
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 20);

const started = process.hrtime.bigint();
if (kind === 'node') {
  await pipeline(
    new Readable({
      read() {
        this.push(nextChunk() ?? null);
      },
    }),
    nodeTransform(new StreamEncryptor(dek, 'tenant-bench')),
    nodeTransform(new StreamDecryptor(dek)),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        consumed += chunk.length;
        outputHash.update(chunk);
        callback();
      },
    }),
  );
} else {
  await new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = nextChunk();
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  })
    .pipeThrough(webTransform(new StreamEncryptor(dek, 'tenant-bench')))
    .pipeThrough(webTransform(new StreamDecryptor(dek)))
    .pipeTo(
      new WritableStream({
        write(chunk) {
          consumed += chunk.length;
          outputHash.update(chunk);
        },
      }),
    );
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);
rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
process.stdout.write(
  `${JSON.stringify({
    kind,
    bytes: totalBytes,
    intact: consumed === totalBytes && inputHash.digest('hex') === outputHash.digest('hex'),
    seconds,
    // Each byte is encrypted once and decrypted once.
    mbPerSecond: totalBytes / 1e6 / seconds,
    rssGrowthMiB: (rssPeak - rssBefore) / 1024 ** 2,
  })}\n`,
);
