/**
 * The JSON-over-HTTP calls to the Tenant Security Proxy (PROTOCOL.md §1). By default an undici connection pool per
 * client, kept alive (connection setup dominates small calls; undici's dispatch API spent about half the CPU per
 * call of node:http's client, measured side by side); an injected `fetch` replaces it entirely.
 */
import tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { z } from 'zod';
import { TenantSecurityErrorCode, TspServiceException, exceptionFromCode } from './errors.js';
import { CLIENT_VERSION } from './version.js';

export type FetchLike = (
  input: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface TenantSecurityClientOptions {
  /** Per-call deadline in milliseconds, covering connection, request and response (default 30,000). */
  timeoutMs?: number;
  /** A `fetch` to use instead of the built-in keep-alive transport (e.g. for a custom dispatcher or tests). */
  fetch?: FetchLike;
  /** Reuse connections between calls (default true). Ignored when `fetch` is given. */
  keepAlive?: boolean;
  /** Upper bound on concurrent connections to the proxy (default 64). Ignored when `fetch` is given. */
  maxSockets?: number;
  /**
   * PEM certificate(s) of a private CA that issued the proxy's certificate, trusted in addition to the system's
   * CAs (`NODE_EXTRA_CA_CERTS` works too).
   */
  ca?: string | string[];
  /**
   * Allow `http://` to a host that is not loopback. The API key and the data keys travel in these calls, so plain
   * HTTP is refused by default except to 127.0.0.0/8, ::1 and localhost.
   */
  allowInsecureHttp?: boolean;
}

export interface CallOptions {
  /** Aborts the call; it then fails with code 0 (UNABLE_TO_MAKE_REQUEST) and the signal's reason as `cause`. */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const ABORTED_MESSAGE = 'The call to the Tenant Security Proxy was aborted.';
const DEFAULT_MAX_SOCKETS = 64;

const optionsSchema = z
  .object({
    timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
    fetch: z
      .custom<FetchLike>((value) => typeof value === 'function', { error: 'fetch must be a function.' })
      .optional(),
    keepAlive: z.boolean().optional(),
    maxSockets: z.number().int().positive().optional(),
    allowInsecureHttp: z.boolean().optional(),
    ca: z
      .union([z.string(), z.array(z.string())])
      .refine((value) => [value].flat().every((pem) => pem.includes('-----BEGIN CERTIFICATE-----')), {
        error: 'ca must be PEM certificate text.',
      })
      .optional(),
  })
  .strict();

const callOptionsSchema = z
  .object({
    signal: z
      .custom<AbortSignal>((value) => value instanceof AbortSignal, { error: 'signal must be an AbortSignal.' })
      .optional(),
    timeoutMs: z.number().int().positive().max(2_147_483_647).optional(),
  })
  .strict();

function invalidInput(message: string): TspServiceException {
  return new TspServiceException(TenantSecurityErrorCode.INVALID_REQUEST_BODY, message);
}

export function parseClientOptions(options: unknown): TenantSecurityClientOptions {
  const result = optionsSchema.safeParse(options ?? {});
  if (!result.success) throw new TypeError(`Invalid TenantSecurityClient options: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function parseCallOptions(options: unknown): CallOptions {
  if (options === undefined) return {};
  const result = callOptionsSchema.safeParse(options);
  if (!result.success) throw invalidInput(`Invalid call options: ${z.prettifyError(result.error)}`);
  return result.data;
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '[::1]') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * The proxy's base URL without trailing slashes, so that `{base}/api/1/{route}` never has `//` (IronCore's client
 * concatenates blindly). A path prefix (a proxy behind a gateway) is kept.
 */
export function normaliseProxyUrl(proxyUrl: unknown, allowInsecureHttp = false): string {
  if (typeof proxyUrl !== 'string' || proxyUrl.trim() === '') throw new Error('No value provided for TSP Domain');
  let url: URL;
  try {
    url = new URL(proxyUrl.trim());
  } catch {
    throw new Error(`The TSP Domain is not a URL: expected e.g. "https://tsp.example.com", got "${proxyUrl}".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`The TSP Domain must use https:// (or http:// to a loopback address), got "${url.protocol}".`);
  }
  if (url.username || url.password)
    throw new Error('The TSP Domain must not contain credentials; pass the API key separately.');
  if (url.search || url.hash) throw new Error('The TSP Domain must not contain a query or fragment.');
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw new Error(
      `Refusing plain http:// to ${url.hostname}: the API key and data keys would travel unencrypted. Use https://, ` +
        'or pass { allowInsecureHttp: true } if the network is otherwise protected.',
    );
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

const errorBodySchema = z.looseObject({ code: z.number(), message: z.string() });

export interface ProxyResponse {
  status: number;
  text: string;
}

function unableToMakeRequest(message: string, cause?: unknown): TspServiceException {
  const error = new TspServiceException(TenantSecurityErrorCode.UNABLE_TO_MAKE_REQUEST, message);
  if (cause !== undefined) (error as Error & { cause?: unknown }).cause = cause;
  return error;
}

/** Parses a proxy answer: 2xx bodies against `schema`, others as `{code, message}` (IronCore's rules). */
export function interpretResponse<T>(response: ProxyResponse, schema: z.ZodType<T>): T {
  let json: unknown;
  const ok = response.status >= 200 && response.status < 300;
  try {
    json = JSON.parse(response.text);
  } catch {
    throw new TspServiceException(
      TenantSecurityErrorCode.UNKNOWN_ERROR,
      'Unknown response from Tenant Security Proxy',
      response.status,
    );
  }
  if (!ok) {
    const error = errorBodySchema.safeParse(json);
    if (!error.success)
      throw new TspServiceException(
        TenantSecurityErrorCode.UNKNOWN_ERROR,
        'Unknown response from Tenant Security Proxy',
        response.status,
      );
    throw exceptionFromCode(error.data.code, error.data.message, response.status);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new TspServiceException(
      TenantSecurityErrorCode.UNKNOWN_ERROR,
      `Unexpected response from Tenant Security Proxy: ${z.prettifyError(parsed.error)}`,
      response.status,
    );
  }
  return parsed.data;
}

/** Ties a per-call deadline and the caller's signal to one AbortSignal, with a cleanup. */
function callSignal(
  timeoutMs: number,
  callerSignal?: AbortSignal,
): { signal: AbortSignal; done(): void; timedOut(): boolean } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`The call to the Tenant Security Proxy timed out after ${timeoutMs} ms.`));
  }, timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal!.reason);
  if (callerSignal) {
    if (callerSignal.aborted) controller.abort(callerSignal.reason);
    else callerSignal.addEventListener('abort', onCallerAbort, { once: true });
  }
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

export class ProxyTransport {
  private readonly baseUrl: string;
  private readonly pathPrefix: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetchImpl?: FetchLike;
  private readonly pool?: Pool;

  constructor(baseUrl: string, apiKey: string, options: TenantSecurityClientOptions) {
    this.baseUrl = baseUrl;
    const target = new URL(baseUrl);
    this.pathPrefix = target.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.headers = {
      'content-type': 'application/json',
      authorization: `cmk ${apiKey}`,
      'x-icl-tsc-language': 'node',
      'x-icl-tsc-version': CLIENT_VERSION,
    };
    if (options.fetch) {
      this.fetchImpl = options.fetch;
    } else {
      // pipelining 1 = one request at a time per kept-alive connection; 0 = a new connection per request.
      this.pool = new Pool(target.origin, {
        connections: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
        pipelining: options.keepAlive === false ? 0 : 1,
        // A `ca` given to TLS replaces the default trust store, so the system's roots are passed along with it.
        ...(options.ca ? { connect: { ca: [...tls.rootCertificates, ...[options.ca].flat()] } } : {}),
      });
    }
  }

  /** Closes the kept-alive connections (idle ones do not keep the process alive; tests and shutdowns like tidiness). */
  close(): void {
    void this.pool?.close().catch(() => undefined);
  }

  async post<T>(route: string, body: unknown, schema: z.ZodType<T>, callOptions: CallOptions): Promise<T> {
    const payload = JSON.stringify(body);
    const timeoutMs = callOptions.timeoutMs ?? this.timeoutMs;
    const response = this.fetchImpl
      ? await this.viaFetch(route, payload, timeoutMs, callOptions.signal)
      : await this.viaPool(route, payload, timeoutMs, callOptions.signal);
    return interpretResponse(response, schema);
  }

  private async viaFetch(
    route: string,
    payload: string,
    timeoutMs: number,
    callerSignal?: AbortSignal,
  ): Promise<ProxyResponse> {
    const call = callSignal(timeoutMs, callerSignal);
    try {
      const response = await this.fetchImpl!(`${this.baseUrl}/api/1/${route}`, {
        method: 'POST',
        headers: this.headers,
        body: payload,
        signal: call.signal,
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      if (call.signal.aborted) {
        throw unableToMakeRequest(
          call.timedOut() ? (call.signal.reason as Error).message : ABORTED_MESSAGE,
          call.signal.reason,
        );
      }
      throw unableToMakeRequest(`Unable to reach the Tenant Security Proxy: ${(error as Error).message}`, error);
    } finally {
      call.done();
    }
  }

  /**
   * One request on the pool through undici's low-level dispatch API: the response body is gathered directly rather
   * than through a Readable, and the deadline and the caller's signal abort the request directly rather than
   * through a per-call AbortController (both showed up in profiles of small calls).
   */
  private viaPool(route: string, payload: string, timeoutMs: number, signal?: AbortSignal): Promise<ProxyResponse> {
    return new Promise<ProxyResponse>((resolve, reject) => {
      let settled = false;
      let abortRequest: ((reason: Error) => void) | undefined;
      let status = 0;
      const chunks: Buffer[] = [];
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (error: TspServiceException) => {
        if (settled) return;
        finish();
        abortRequest?.(error);
        reject(error);
      };
      const onAbort = () => fail(unableToMakeRequest(ABORTED_MESSAGE, signal!.reason));
      const timer = setTimeout(
        () => fail(unableToMakeRequest(`The call to the Tenant Security Proxy timed out after ${timeoutMs} ms.`)),
        timeoutMs,
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          if (settled) controller.abort(new Error('The call was already given up.'));
          else abortRequest = (reason) => controller.abort(reason);
        },
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          if (settled) return;
          finish();
          resolve({
            status,
            text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
          });
        },
        onResponseError(_controller, error) {
          fail(unableToMakeRequest(`Unable to reach the Tenant Security Proxy: ${error.message}`, error));
        },
      };
      this.pool!.dispatch(
        { path: `${this.pathPrefix}/api/1/${route}`, method: 'POST', headers: this.headers, body: payload },
        handler,
      );
    });
  }
}
