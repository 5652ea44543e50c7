/**
 * A WHATWG-fetch-compatible function over node:http/https that trusts one extra CA (the emulators' CA) in addition
 * to nothing else. Node's global fetch takes no per-request CA, and gaxios (Google clients) calls
 * `import('node-fetch')` lazily, which fails under jest's CommonJS vm; handing this to
 * `clientOptions: { transporterOptions: { fetchImplementation } }` solves both for Google clients in tests.
 */
import http from 'node:http';
import https from 'node:https';

type FetchInput = string | URL | { url: string };

export function createCaTrustingFetch(caPem: string): typeof fetch {
  const implementation = (input: FetchInput, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const transport = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = init.body;
    let payload: Buffer | undefined;
    if (typeof body === 'string') payload = Buffer.from(body);
    else if (body instanceof Uint8Array) payload = Buffer.from(body);
    else if (body instanceof ArrayBuffer) payload = Buffer.from(body);
    else if (body !== undefined && body !== null)
      return Promise.reject(new TypeError('createCaTrustingFetch: unsupported body type'));
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      const req = transport.request(
        url,
        { method: init.method ?? 'GET', headers, ...(url.protocol === 'https:' ? { ca: caPem } : {}), signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, item);
            }
            const status = res.statusCode ?? 0;
            const nullBody = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(
              new Response(nullBody ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  };
  return implementation as unknown as typeof fetch;
}
