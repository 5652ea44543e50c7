/**
 * A minimal stand-in for the Tenant Security Proxy, for unit tests of the client's HTTP handling only (request
 * shapes, status and error mapping, keep-alive, timeouts). It wraps DEKs insecurely on purpose: the EDEK is just
 * the tenant and DEK in base64. The real proxy is exercised in integration.test.ts.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export type Override = (request: RecordedRequest) => { status: number; body: string; delayMs?: number } | undefined;

export interface StandInProxy {
  url: string;
  apiKey: string;
  requests: RecordedRequest[];
  connections: number;
  override: Override | undefined;
  close(): Promise<void>;
}

function fakeEdek(tenantId: string, dek: Buffer): string {
  return Buffer.from(JSON.stringify({ tenantId, dek: dek.toString('base64') })).toString('base64');
}

function openFakeEdek(edek: string): { tenantId: string; dek: string } | undefined {
  try {
    return JSON.parse(Buffer.from(edek, 'base64').toString('utf8')) as { tenantId: string; dek: string };
  } catch {
    return undefined;
  }
}

function route(path: string, body: Record<string, unknown>): { status: number; json: unknown } {
  const tenantId = body['tenantId'] as string;
  const unknownTenant = tenantId === 'unknown-tenant';
  if (unknownTenant && path !== '/api/1/event/security-event') {
    return { status: 404, json: { code: 201, message: 'No configurations available for the provided tenant' } };
  }
  switch (path) {
    case '/api/1/document/wrap': {
      const dek = randomBytes(32);
      return { status: 200, json: { dek: dek.toString('base64'), edek: fakeEdek(tenantId, dek) } };
    }
    case '/api/1/document/unwrap': {
      const opened = openFakeEdek(body['encryptedDocumentKey'] as string);
      if (!opened || opened.tenantId !== tenantId)
        return { status: 400, json: { code: 203, message: "Provided EDEK didn't contain IronCore EDEKs" } };
      return { status: 200, json: { dek: opened.dek } };
    }
    case '/api/1/document/batch-wrap': {
      const keys: Record<string, unknown> = {};
      const failures: Record<string, unknown> = {};
      for (const id of body['documentIds'] as string[]) {
        if (id.startsWith('fail')) failures[id] = { code: 204, message: 'KMS wrap failed' };
        else if (id.startsWith('omit')) continue;
        else {
          const dek = id.startsWith('shortdek') ? randomBytes(16) : randomBytes(32);
          keys[id] = { dek: dek.toString('base64'), edek: fakeEdek(tenantId, dek) };
        }
      }
      return { status: 200, json: { keys, failures } };
    }
    case '/api/1/document/batch-unwrap': {
      const keys: Record<string, unknown> = {};
      const failures: Record<string, unknown> = {};
      for (const [id, edek] of Object.entries(body['edeks'] as Record<string, string>)) {
        const opened = openFakeEdek(edek);
        if (!opened || opened.tenantId !== tenantId)
          failures[id] = { code: 203, message: "Provided EDEK didn't contain IronCore EDEKs" };
        else keys[id] = { dek: opened.dek };
      }
      return { status: 200, json: { keys, failures } };
    }
    case '/api/1/document/rekey': {
      const opened = openFakeEdek(body['encryptedDocumentKey'] as string);
      if (!opened || opened.tenantId !== tenantId)
        return { status: 400, json: { code: 203, message: `EDEK is not assigned to tenant ${tenantId}` } };
      return {
        status: 200,
        json: { dek: opened.dek, edek: fakeEdek(body['newTenantId'] as string, Buffer.from(opened.dek, 'base64')) },
      };
    }
    case '/api/1/event/security-event':
      return { status: 200, json: null };
    default:
      return { status: 404, json: { code: 100, message: 'no such route' } };
  }
}

export async function startStandInProxy(
  apiKey = 'stand-in-api-key',
  tlsOptions?: { key: string; cert: string },
): Promise<StandInProxy> {
  const state: StandInProxy = {
    url: '',
    apiKey,
    requests: [],
    connections: 0,
    override: undefined,
    close: async () => {},
  };
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = {};
      }
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      state.requests.push(recorded);
      const send = (status: number, text: string) => {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      };
      const overridden = state.override?.(recorded);
      if (overridden) {
        if (overridden.delayMs)
          setTimeout(() => !res.destroyed && send(overridden.status, overridden.body), overridden.delayMs);
        else send(overridden.status, overridden.body);
        return;
      }
      if (req.headers.authorization !== `cmk ${apiKey}`)
        return send(401, JSON.stringify({ code: 101, message: 'Unauthorized request' }));
      const path = (req.url ?? '').replace(/^\/prefix/, '');
      const answer = route(path, body);
      send(answer.status, JSON.stringify(answer.json));
    });
  };
  const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  // Count TCP connections (for TLS too: 'secureConnection' would miss failed handshakes).
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
