import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { TspError, toTspError } from '../errors.js';
import { batchJson } from './batch-json.js';
import { Http1Server, type Http1Request } from './http1-server.js';
import type { EventRecorder } from '../events/types.js';
import type { KeyService, RequestMetadata } from '../key-service.js';
import type { Logger } from '../logger.js';
import type { ProxyMetrics } from '../metrics.js';
import {
  batchUnwrapBodySchema,
  batchWrapBodySchema,
  isKnownSecurityEvent,
  rekeyBodySchema,
  reportOperationsBodySchema,
  securityEventBodySchema,
  unwrapBodySchema,
  wrapBodySchema,
} from './request-schemas.js';

/** A JSON answer: one string, or pieces of a large one (see Http1Request#respond). */
type ResponseBody = string | string[];
type RouteHandler = (body: unknown) => ResponseBody | Promise<ResponseBody>;

export interface ApiServerOptions {
  apiKeys: string[];
  maxBodyBytes: number;
  keys: KeyService;
  events: EventRecorder;
  metrics: ProxyMetrics;
  logger: Logger;
}

const NOT_FOUND = JSON.stringify({ code: 100, message: 'Unknown route' });
const UNAUTHORIZED = JSON.stringify({ code: 101, message: 'Unauthorized request: invalid or missing API key' });

/**
 * The TSP API on a strict HTTP/1.1 layer of its own (http1-server.ts; node:http's streams cost a third of a wrap).
 * Every request: route, API key, body size, JSON, zod schema, operation; every failure answers `{code, message}`
 * with a 4xx for the caller's mistakes and never a 500 for bad input.
 */
export class ApiServer {
  private readonly http: Http1Server;
  private readonly routes: Map<string, RouteHandler>;
  private readonly apiKeys: Buffer[];

  constructor(private readonly options: ApiServerOptions) {
    this.apiKeys = options.apiKeys.map((key) => Buffer.from(`cmk ${key}`, 'utf8'));
    this.routes = new Map<string, RouteHandler>([
      ['document/wrap', (body) => this.wrap(body)],
      ['document/unwrap', (body) => this.unwrap(body)],
      ['document/batch-wrap', (body) => this.batchWrap(body)],
      ['document/batch-unwrap', (body) => this.batchUnwrap(body)],
      ['document/rekey', (body) => this.rekey(body)],
      ['event/security-event', (body) => this.securityEvent(body)],
      ['document/report-operations', (body) => this.reportOperations(body)],
    ]);
    this.http = new Http1Server({
      handler: (request) => this.handle(request),
      maxBodyBytes: options.maxBodyBytes,
      keepAliveTimeoutMs: 65_000,
      requestTimeoutMs: 60_000,
      errorBody: (status, message) => {
        // Malformed HTTP never reaches a route; it is counted under `unknown` with the code it was answered with.
        const code = status >= 500 && status !== 501 && status !== 505 ? 100 : 102;
        this.options.metrics.recordRequest('unknown', code, 'none', 'none', 0);
        return JSON.stringify({
          code,
          message:
            status === 413
              ? `Invalid request body: larger than ${options.maxBodyBytes} bytes`
              : `Invalid request: ${message}`,
        });
      },
    });
  }

  /** Constant-time comparison (node:crypto timingSafeEqual) against every configured key; no early exit. */
  private authorized(header: string | undefined): boolean {
    if (header === undefined) return false;
    const presented = Buffer.from(header, 'utf8');
    let ok = false;
    for (const key of this.apiKeys) {
      // Equal lengths are required by timingSafeEqual; comparing against itself keeps the timing uniform.
      const match =
        presented.length === key.length ? timingSafeEqual(presented, key) : timingSafeEqual(key, key) && false;
      ok = ok || match;
    }
    return ok;
  }

  private handle(request: Http1Request): void {
    const started = performance.now();
    const route = routeOf(request.target);
    const handler = route === undefined ? undefined : this.routes.get(route);
    const raw = request.headers;
    let authorization: string | undefined;
    let languageHeader: string | undefined;
    let versionHeader: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === 13 && authorization === undefined && name.toLowerCase() === 'authorization')
        authorization = raw[i + 1];
      else if (name.length === 18 && name.toLowerCase() === 'x-icl-tsc-language') languageHeader = raw[i + 1];
      else if (name.length === 17 && name.toLowerCase() === 'x-icl-tsc-version') versionHeader = raw[i + 1];
    }
    const language = label(languageHeader);
    const version = label(versionHeader);
    const routeLabel = handler ? route! : 'unknown';
    const finish = (status: number, code: number, body: ResponseBody) => {
      request.respond(status, body);
      this.options.metrics.recordRequest(routeLabel, code, language, version, (performance.now() - started) / 1000);
    };
    if (!handler || request.method !== 'POST') {
      finish(404, 100, NOT_FOUND);
      return;
    }
    if (!this.authorized(authorization)) {
      finish(401, 101, UNAUTHORIZED);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      finish(400, 102, JSON.stringify({ code: 102, message: 'Invalid request body: not JSON' }));
      return;
    }
    let result: ResponseBody | Promise<ResponseBody>;
    try {
      result = handler(body);
    } catch (error) {
      this.fail(error, finish);
      return;
    }
    if (!(result instanceof Promise)) {
      finish(200, 0, result);
    } else {
      result.then(
        (text) => finish(200, 0, text),
        (error: unknown) => this.fail(error, finish),
      );
    }
  }

  private fail(error: unknown, finish: (status: number, code: number, body: ResponseBody) => void): void {
    const tspError = toTspError(error, 'wrap');
    if (!(error instanceof TspError)) {
      this.options.logger.error(
        {
          err:
            error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        },
        'unexpected error in request',
      );
    }
    finish(tspError.httpStatus, tspError.code, JSON.stringify({ code: tspError.code, message: tspError.message }));
  }

  private wrap(raw: unknown): string | Promise<string> {
    const body = parse(wrapBodySchema, raw);
    const result = this.options.keys.wrap(metadata(body));
    if (result instanceof Promise) return result.then((r) => `{"dek":"${r.dek}","edek":"${r.edek}"}`);
    return `{"dek":"${result.dek}","edek":"${result.edek}"}`;
  }

  private unwrap(raw: unknown): string | Promise<string> {
    const body = parse(unwrapBodySchema, raw);
    const result = this.options.keys.unwrap(metadata(body), body.encryptedDocumentKey);
    if (result instanceof Promise) return result.then((r) => `{"dek":"${r.dek}"}`);
    return `{"dek":"${result.dek}"}`;
  }

  private async batchWrap(raw: unknown): Promise<string[]> {
    const body = parse(batchWrapBodySchema, raw);
    return batchJson(await this.options.keys.batchWrap(metadata(body), body.documentIds));
  }

  private async batchUnwrap(raw: unknown): Promise<string[]> {
    const body = parse(batchUnwrapBodySchema, raw);
    return batchJson(await this.options.keys.batchUnwrap(metadata(body), body.edeks));
  }

  private async rekey(raw: unknown): Promise<string> {
    const body = parse(rekeyBodySchema, raw);
    return JSON.stringify(await this.options.keys.rekey(metadata(body), body.encryptedDocumentKey, body.newTenantId));
  }

  /** Accepted asynchronously: `200 null` means received (PROTOCOL.md §1.2). */
  private securityEvent(raw: unknown): string {
    const body = parse(securityEventBodySchema, raw);
    // alloy sends the event at the top level, the other clients in iclFields.
    const event = body.iclFields.event ?? body.event;
    if (!event || !isKnownSecurityEvent(event)) {
      throw new TspError(
        301,
        `Security event rejected: unknown event name ${JSON.stringify(String(event ?? '')).slice(0, 80)}`,
      );
    }
    const meta = metadata(body);
    const { event: _event, ...iclFields } = meta.iclFields;
    this.options.events.record({
      tenantId: meta.tenantId,
      event,
      timestampMillis: body.timestampMillis ?? Date.now(),
      source: 'application',
      iclFields,
      customFields: meta.customFields,
    });
    return 'null';
  }

  private reportOperations(raw: unknown): string {
    parse(reportOperationsBodySchema, raw);
    return '{}';
  }

  listen(port: number, host: string): Promise<number> {
    return this.http.listen(port, host);
  }

  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes every socket. */
  close(graceMs: number): Promise<void> {
    return this.http.close(graceMs);
  }
}

function parse<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new TspError(102, `Invalid request body: ${where}${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function metadata(body: {
  tenantId: string;
  iclFields: Record<string, unknown>;
  customFields?: Record<string, string> | null | undefined;
}): RequestMetadata {
  return {
    tenantId: body.tenantId,
    iclFields: body.iclFields as Record<string, string | null | undefined>,
    customFields: body.customFields ?? {},
  };
}

/** `/api/1/<route>`, tolerating the `//api/1/` the Node client builds from a base URL with a trailing slash. */
function routeOf(url: string): string | undefined {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  let start = 0;
  while (start < path.length && path.charCodeAt(start) === 47) start++;
  if (start === 0 || !path.startsWith('api/1/', start)) return undefined;
  return path.slice(start + 6);
}

const LABEL = /^[A-Za-z0-9._+-]{1,32}$/;
const labelCache = new Map<string, string>();
/** Client-supplied label values are bounded so metrics cardinality cannot be blown up. */
function label(value: string | undefined): string {
  if (value === undefined) return 'none';
  let cached = labelCache.get(value);
  if (cached === undefined) {
    cached = LABEL.test(value) ? value : 'other';
    if (labelCache.size < 1000) labelCache.set(value, cached);
  }
  return cached;
}
