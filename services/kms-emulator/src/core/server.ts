/**
 * The HTTP(S) core every emulator runs on: body reading, the request log, fault application, the `/__emulator/`
 * admin API, and orderly shutdown (hung requests and keep-alive sockets are destroyed on close).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { EmulatorError } from './errors.js';
import type { FaultErrorKind, FaultInjector, FaultSubject } from './faults.js';
import type { RequestLog, RequestLogEntry } from './request-log.js';

export const ADMIN_PREFIX = '/__emulator/';
const MAX_BODY_BYTES = 1024 * 1024;

export type ControlMethod = (input: unknown) => unknown;

export interface ControlSurface {
  /** Methods callable as `POST /__emulator/<name>` with a JSON object body; the same functions back the in-process API. */
  methods: Record<string, ControlMethod>;
  state(): unknown;
}

export interface ListenerSpec {
  protocol: 'http' | 'https';
  port?: number;
}

export interface EmulatorServerOptions {
  name: string;
  host: string;
  listeners: ListenerSpec[];
  tls?: { key: string; cert: string };
  faults: FaultInjector;
  log: RequestLog;
  control: ControlSurface;
  handle(exchange: Exchange): Promise<void>;
}

/** Thrown by Exchange when a fault took over the request (hang or reset); the core then writes nothing. */
class Abandoned extends Error {}

export class Exchange {
  readonly url: URL;
  private operation: string | null = null;
  private keys: string[] = [];
  private principal: string | null = null;
  private fault: string | null = null;
  private errorCode: string | null = null;
  private finished = false;

  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly body: Buffer,
    readonly baseUrl: string,
    private readonly server: EmulatorServer,
    private readonly startedAt: number,
  ) {
    this.url = new URL(req.url ?? '/', baseUrl);
  }

  get method(): string {
    return (this.req.method ?? 'GET').toUpperCase();
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(',') : value;
  }

  /** Records who/what the request is about, then applies the matching faults (latency, hang, reset, error). */
  async applyFaults(
    subject: FaultSubject,
  ): Promise<{ error?: FaultErrorKind; retryAfterMs?: number; corruptChecksum: boolean }> {
    this.describe(subject);
    const outcome = this.server.faults.evaluate(subject);
    if (outcome.delayMs > 0) {
      this.fault = `latency:${outcome.delayMs}ms`;
      await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
    }
    switch (outcome.action) {
      case 'hang':
        this.fault = 'hang';
        this.server.trackHung(this);
        this.record('hung', null);
        throw new Abandoned();
      case 'malformed':
        this.fault = 'malformed';
        this.send(200, '{"truncated": tr', { 'content-type': this.header('content-type') ?? 'application/json' });
        throw new Abandoned();
      case 'reset':
        this.fault = 'reset';
        this.record('reset', null);
        this.req.socket.destroy();
        throw new Abandoned();
      case 'error':
        this.fault = `error:${outcome.error}`;
        return { error: outcome.error, retryAfterMs: outcome.retryAfterMs, corruptChecksum: false };
      default:
        if (outcome.corruptChecksum) this.fault = 'corrupt-checksum';
        return { corruptChecksum: outcome.corruptChecksum };
    }
  }

  describe(subject: Partial<FaultSubject>): void {
    if (subject.operation !== undefined) this.operation = subject.operation;
    if (subject.keys !== undefined) this.keys = subject.keys;
    if (subject.principal !== undefined) this.principal = subject.principal;
  }

  noteError(code: string): void {
    this.errorCode = code;
  }

  send(status: number, body: string | Buffer, headers: Record<string, string | number> = {}): void {
    if (this.finished) return;
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    this.res.writeHead(status, { ...headers, 'content-length': payload.length });
    this.res.end(payload);
    this.record('answered', status);
  }

  json(status: number, value: unknown, headers: Record<string, string | number> = {}): void {
    this.send(status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });
  }

  destroy(): void {
    this.req.socket.destroy();
  }

  private record(outcome: RequestLogEntry['outcome'], status: number | null): void {
    if (this.finished) return;
    this.finished = true;
    this.server.log.append({
      time: new Date(this.startedAt).toISOString(),
      emulator: this.server.name,
      method: this.method,
      path: this.url.pathname,
      operation: this.operation,
      keys: this.keys,
      principal: this.principal,
      status,
      outcome,
      fault: this.fault,
      errorCode: this.errorCode,
      durationMs: Date.now() - this.startedAt,
    });
  }
}

export class EmulatorServer {
  readonly name: string;
  readonly faults: FaultInjector;
  readonly log: RequestLog;
  private readonly servers: { protocol: 'http' | 'https'; server: http.Server; url: string }[] = [];
  private readonly hung = new Set<Exchange>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly options: EmulatorServerOptions) {
    this.name = options.name;
    this.faults = options.faults;
    this.log = options.log;
  }

  static async start(options: EmulatorServerOptions): Promise<EmulatorServer> {
    const instance = new EmulatorServer(options);
    try {
      for (const listener of options.listeners) await instance.listen(listener);
    } catch (error) {
      await instance.close();
      throw error;
    }
    return instance;
  }

  /** Base URL (no trailing slash) of the first listener with that protocol. */
  url(protocol?: 'http' | 'https'): string {
    const match = this.servers.find((entry) => protocol === undefined || entry.protocol === protocol);
    if (!match) throw new EmulatorError('NOT_FOUND', `${this.name} has no ${protocol ?? ''} listener`);
    return match.url;
  }

  trackHung(exchange: Exchange): void {
    this.hung.add(exchange);
  }

  async close(): Promise<void> {
    for (const exchange of this.hung) exchange.destroy();
    this.hung.clear();
    await Promise.all(
      this.servers.map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async listen(spec: ListenerSpec): Promise<void> {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      void this.dispatch(req, res, entry.url);
    };
    let server: http.Server;
    if (spec.protocol === 'https') {
      if (!this.options.tls) throw new Error(`${this.name}: an https listener needs a certificate`);
      server = https.createServer({ key: this.options.tls.key, cert: this.options.tls.cert }, listener);
    } else {
      server = http.createServer(listener);
    }
    // Keep-alive sockets are tracked so close() never waits on an idle client connection.
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(spec.port ?? 0, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    const entry = { protocol: spec.protocol, server, url: `${spec.protocol}://${host}:${port}` };
    this.servers.push(entry);
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, baseUrl: string): Promise<void> {
    const startedAt = Date.now();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      res.writeHead(413, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'INVALID_ARGUMENT', message: `request body larger than ${MAX_BODY_BYTES} bytes` },
        }),
      );
      return;
    }
    const exchange = new Exchange(req, res, body, baseUrl, this, startedAt);
    try {
      if (exchange.url.pathname.startsWith(ADMIN_PREFIX)) {
        await this.admin(exchange);
      } else {
        await this.options.handle(exchange);
      }
    } catch (error) {
      if (error instanceof Abandoned) return;
      // A handler bug must still produce an answer, never a dropped socket.
      exchange.noteError('EmulatorInternal');
      exchange.json(500, {
        error: { code: 'INTERNAL', message: `emulator ${this.name} failed: ${(error as Error).message}` },
      });
    }
  }

  private async admin(exchange: Exchange): Promise<void> {
    const path = exchange.url.pathname.slice(ADMIN_PREFIX.length).replace(/\/+$/, '');
    const method = exchange.method;
    try {
      if (method === 'GET' && path === 'state') return exchange.json(200, this.options.control.state());
      if (path === 'requests') {
        if (method === 'GET') {
          const params = exchange.url.searchParams;
          const status = params.get('status');
          return exchange.json(200, {
            requests: this.log.entries({
              operation: params.get('operation') ?? undefined,
              key: params.get('key') ?? undefined,
              principal: params.get('principal') ?? undefined,
              status: status ? Number(status) : undefined,
            }),
          });
        }
        if (method === 'DELETE') {
          this.log.clear();
          return exchange.send(204, '');
        }
      }
      if (path === 'faults') {
        if (method === 'GET') return exchange.json(200, { faults: this.faults.list() });
        if (method === 'POST') return exchange.json(201, { id: this.faults.add(parseJsonObject(exchange.body)) });
        if (method === 'DELETE') {
          this.faults.clear();
          return exchange.send(204, '');
        }
      }
      const faultId = /^faults\/(\d+)$/.exec(path);
      if (faultId && method === 'DELETE') {
        if (!this.faults.remove(Number(faultId[1])))
          throw new EmulatorError('NOT_FOUND', `no fault rule ${faultId[1]}`);
        return exchange.send(204, '');
      }
      const control = this.options.control.methods[path];
      if (method === 'POST' && control && Object.hasOwn(this.options.control.methods, path)) {
        const result = await control(parseJsonObject(exchange.body));
        return result === undefined ? exchange.send(204, '') : exchange.json(200, result);
      }
      throw new EmulatorError(
        'UNKNOWN_METHOD',
        `no admin route ${method} ${ADMIN_PREFIX}${path}; methods: ${Object.keys(this.options.control.methods).join(', ')}`,
      );
    } catch (error) {
      if (error instanceof EmulatorError) {
        return exchange.json(error.httpStatus, { error: { code: error.code, message: error.message } });
      }
      throw error;
    }
  }
}

function parseJsonObject(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new EmulatorError('INVALID_ARGUMENT', 'body: expected a JSON document');
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new Error('too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
