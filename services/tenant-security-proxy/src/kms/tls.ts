import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { rootCertificates } from 'node:tls';

/** System CAs plus the operator's extra CA: passing `ca` replaces the defaults, so both go in. */
export function caBundle(extraCa: string | undefined): string[] | undefined {
  return extraCa ? [...rootCertificates, extraCa] : undefined;
}

export function keepAliveAgents(extraCa: string | undefined): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const ca = caBundle(extraCa);
  return {
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(ca ? { ca } : {}) }),
  };
}
