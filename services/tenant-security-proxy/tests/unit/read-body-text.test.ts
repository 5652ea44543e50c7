import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { readBodyText } from '../../src/broker/read-body-text.js';

/** A body delivered as the given byte chunks, one stream read each. */
function responseOf(chunks: Uint8Array[]): Response {
  let next = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next < chunks.length) controller.enqueue(chunks[next++]!);
        else controller.close();
      },
    }),
  );
}

/** `bytes` cut at the given offsets (sorted, deduplicated, within the body). */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

describe('readBodyText', () => {
  test('any text, cut anywhere (inside multi-byte characters too), reads back whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (text, offsets) => {
          const bytes = new TextEncoder().encode(text);
          expect(await readBodyText(responseOf(cut(bytes, offsets)))).toBe(text);
        },
      ),
    );
  });

  test('bytes that are not UTF-8 are refused, not replaced', async () => {
    // A lone continuation byte, an overlong "/" and a truncated four-byte sequence at the very end.
    for (const bad of [
      [0x7b, 0x80, 0x7d],
      [0xc0, 0xaf],
      [0x22, 0xf0, 0x9f, 0x98],
    ]) {
      await expect(readBodyText(responseOf([Uint8Array.from(bad)]))).rejects.toMatchObject({
        code: 'ERR_ENCODING_INVALID_ENCODED_DATA',
      });
    }
  });

  test('no body reads as the empty string', async () => {
    expect(await readBodyText(new Response(null, { status: 204 }))).toBe('');
  });

  describe('over HTTP', () => {
    let server: Server;
    let url: string;
    const text = JSON.stringify({
      tenants: Array.from({ length: 2000 }, (_, i) => ({ tenantId: `tenant-€-😀-${i}` })),
    });
    beforeAll(async () => {
      server = createServer((_req, res) => {
        // Written in odd-sized pieces so that chunk boundaries fall inside multi-byte characters.
        const bytes = Buffer.from(text);
        res.writeHead(200, { 'content-type': 'application/json' });
        let at = 0;
        const step = () => {
          if (at >= bytes.length) return res.end();
          res.write(bytes.subarray(at, (at += 4093)), step);
        };
        step();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('a chunked body of non-ASCII JSON arrives whole', async () => {
      const body = await readBodyText(await fetch(url));
      expect(body.length).toBe(text.length);
      expect(body).toBe(text);
    });
  });
});
