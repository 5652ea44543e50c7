/**
 * Child process of bench.ts: pushes STREAM_BYTES (default 1 GiB) through stream encryption and straight into stream
 * decryption, for Node streams or Web Streams (argv[2]), and reports throughput, peak RSS growth (after a warm-up
 * stream, and from a cold start) and whether the plaintext came out unchanged (SHA-256 in and out). Runs alone so
 * RSS is its own.
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

interface StreamRun {
  intact: boolean;
  seconds: number;
}

/** Streams `totalBytes` through encryption and straight into decryption; checks the plaintext survived. */
async function run(totalBytes: number): Promise<StreamRun> {
  const inputHash = createHash('sha256');
  const outputHash = createHash('sha256');
  let produced = 0;
  let consumed = 0;
  const nextChunk = (): Buffer | undefined => {
    if (produced >= totalBytes) return undefined;
    const size = Math.min(chunkSize, totalBytes - produced);
    // A fresh copy with a varying first word, so the data is not one repeated block.
    const chunk = Buffer.from(block.subarray(0, size));
    chunk.writeUInt32BE(produced / chunkSize, 0);
    produced += size;
    inputHash.update(chunk);
    return chunk;
  };
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
  return {
    intact: consumed === totalBytes && inputHash.digest('hex') === outputHash.digest('hex'),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

let rssPeak = 0;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
}, 20);

// Cold: RSS before anything ran. Warm: after a 64 MiB warm-up stream, once V8 has sized its young generation and
// compiled the code; growth from there is what the length of the stream costs.
global.gc?.();
const rssCold = process.memoryUsage().rss;
await run(64 * 1024 ** 2);
global.gc?.();
const rssWarm = process.memoryUsage().rss;
rssPeak = rssWarm;
const result = await run(totalBytes);
clearInterval(sampler);
rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
process.stdout.write(
  `${JSON.stringify({
    kind,
    bytes: totalBytes,
    intact: result.intact,
    seconds: result.seconds,
    // Each byte is encrypted once and decrypted once.
    mbPerSecond: totalBytes / 1e6 / result.seconds,
    rssGrowthMiB: (rssPeak - rssWarm) / 1024 ** 2,
    rssGrowthFromColdMiB: (rssPeak - rssCold) / 1024 ** 2,
  })}\n`,
);
