import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { caBundle } from '../kms/tls.js';

export interface PostResult {
  status: number;
  body: string;
  retryAfterMs: number | undefined;
}

/** A small keep-alive HTTP(S) POST with a deadline, trusting KMS_EXTRA_CA_FILE as well as the system CAs. */
export class HttpPoster {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent: HttpsAgent;

  constructor(
    extraCa: string | undefined,
    private readonly timeoutMs: number,
  ) {
    const ca = caBundle(extraCa);
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });
  }

  post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<PostResult> {
    const target = new URL(url);
    const isHttps = target.protocol === 'https:';
    const send = isHttps ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        target,
        {
          method: 'POST',
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          headers: { 'content-length': String(Buffer.byteLength(body)), ...headers },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            if (chunks.length < 64) chunks.push(chunk);
          });
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            const seconds = typeof retryAfter === 'string' ? Number(retryAfter) : NaN;
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8').slice(0, 2000),
              retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
