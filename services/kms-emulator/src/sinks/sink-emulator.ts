/**
 * Log sinks the proxy delivers security events to: Splunk HTTP Event Collector, Google Cloud Logging
 * `entries:write`, and a generic HTTPS webhook signed with `X-OpenCMK-Signature: sha256=<hex HMAC-SHA256>`
 * (docs/contracts.md §4). Each stores what it accepted, for assertions. Served on one HTTP and one HTTPS port.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { bindControl, defineControl } from '../core/control.js';
import { EmulatorError } from '../core/errors.js';
import { FaultInjector, type FaultErrorKind } from '../core/faults.js';
import { RequestLog } from '../core/request-log.js';
import { EmulatorServer, type Exchange } from '../core/server.js';
import { randomUuid, safeEqual } from '../core/util.js';
import { v } from '../core/validate.js';
import type { GcpIdentity } from '../gcp/gcp-identity.js';

export type SinkName = 'splunk' | 'gcp-logging' | 'webhook';

export interface SplunkEvent {
  sink: 'splunk';
  receivedAt: string;
  tokenName: string;
  index: string;
  sourcetype?: string;
  source?: string;
  host?: string;
  time?: number | string;
  fields?: Record<string, unknown>;
  event: unknown;
}

export interface GcpLogEntry {
  sink: 'gcp-logging';
  receivedAt: string;
  principal: string;
  logName: string;
  resource?: unknown;
  labels?: Record<string, string>;
  severity?: string | number;
  timestamp?: string;
  insertId?: string;
  jsonPayload?: unknown;
  textPayload?: string;
}

export interface WebhookDelivery {
  sink: 'webhook';
  receivedAt: string;
  webhookId: string;
  contentType: string | null;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  body: unknown;
  rawBody: string;
}

export type SinkEvent = SplunkEvent | GcpLogEntry | WebhookDelivery;

interface SplunkToken {
  name: string;
  token: string;
  allowedIndexes?: string[];
  defaultIndex: string;
  disabled: boolean;
}

interface Webhook {
  id: string;
  secret: string;
}

class SinkFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code);
  }
}

const LOGGING_AUDIENCE = 'https://logging.googleapis.com/';
const LOGGING_SCOPES = [
  'https://www.googleapis.com/auth/logging.write',
  'https://www.googleapis.com/auth/logging.admin',
  'https://www.googleapis.com/auth/cloud-platform',
];
const SPLUNK_PATHS = new Set(['/services/collector', '/services/collector/event', '/services/collector/event/1.0']);

export interface SinkEmulatorOptions {
  host: string;
  httpPort?: number;
  httpsPort?: number;
  tls: { key: string; cert: string };
  gcpIdentity: GcpIdentity;
}

export class SinkEmulator {
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  private readonly gcpIdentity: GcpIdentity;
  private readonly splunkTokens = new Map<string, SplunkToken>();
  private readonly webhooks = new Map<string, Webhook>();
  private readonly logWriters = new Map<string, Set<string>>(); // project -> SA emails
  private readonly received: SinkEvent[] = [];
  private server!: EmulatorServer;
  readonly control;

  private constructor(options: SinkEmulatorOptions) {
    this.gcpIdentity = options.gcpIdentity;
    this.control = bindControl(this.controlDefinitions());
  }

  static async start(options: SinkEmulatorOptions): Promise<SinkEmulator> {
    const emulator = new SinkEmulator(options);
    emulator.server = await EmulatorServer.start({
      name: 'sinks',
      host: options.host,
      listeners: [
        { protocol: 'http', port: options.httpPort },
        { protocol: 'https', port: options.httpsPort },
      ],
      tls: options.tls,
      faults: emulator.faults,
      log: emulator.log,
      control: { methods: emulator.control.methods, state: () => emulator.state() },
      handle: (exchange) => emulator.handle(exchange),
    });
    return emulator;
  }

  get httpUrl(): string {
    return this.server.url('http');
  }

  get httpsUrl(): string {
    return this.server.url('https');
  }

  /** Splunk HEC base URL (the proxy appends `/services/collector/event`). */
  get splunkUrl(): string {
    return this.httpsUrl;
  }

  /** Cloud Logging API endpoint (the proxy appends `/v2/entries:write`). */
  get gcpLoggingEndpoint(): string {
    return this.httpsUrl;
  }

  webhookUrl(id: string, protocol: 'http' | 'https' = 'https'): string {
    return `${protocol === 'https' ? this.httpsUrl : this.httpUrl}/webhooks/${id}`;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** Everything the sinks accepted, oldest first; optionally for one sink. */
  events<S extends SinkName>(sink?: S): Extract<SinkEvent, { sink: S }>[] {
    return this.received.filter((event) => sink === undefined || event.sink === sink) as Extract<
      SinkEvent,
      { sink: S }
    >[];
  }

  clearEvents(): void {
    this.received.length = 0;
  }

  /** Resolves once at least `count` events of `sink` arrived (or rejects after `timeoutMs`). */
  async waitForEvents<S extends SinkName>(
    sink: S,
    count: number,
    timeoutMs = 5000,
  ): Promise<Extract<SinkEvent, { sink: S }>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events(sink);
      if (events.length >= count) return events;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${count} ${sink} events (have ${events.length})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private controlDefinitions() {
    return {
      addSplunkToken: defineControl(
        v.object({
          name: v.optional(v.string({ min: 1, max: 100 })),
          token: v.optional(v.string({ min: 8, max: 200 })),
          defaultIndex: v.optional(v.string({ min: 1, max: 80 })),
          allowedIndexes: v.optional(v.array(v.string({ min: 1, max: 80 }))),
        }),
        (input) => {
          const token = input.token ?? randomUuid();
          if (this.splunkTokens.has(token))
            throw new EmulatorError('ALREADY_EXISTS', 'that Splunk token is already registered');
          const entry: SplunkToken = {
            name: input.name ?? `hec-${this.splunkTokens.size + 1}`,
            token,
            defaultIndex: input.defaultIndex ?? 'main',
            allowedIndexes: input.allowedIndexes,
            disabled: false,
          };
          this.splunkTokens.set(token, entry);
          return {
            name: entry.name,
            token,
            url: this.splunkUrl,
            httpUrl: this.httpUrl,
            defaultIndex: entry.defaultIndex,
          };
        },
      ),
      setSplunkTokenDisabled: defineControl(
        v.object({ name: v.string({ min: 1, max: 100 }), disabled: v.boolean() }),
        (input) => {
          const entry = [...this.splunkTokens.values()].find((token) => token.name === input.name);
          if (!entry) throw new EmulatorError('NOT_FOUND', `no Splunk token named ${input.name}`);
          entry.disabled = input.disabled;
        },
      ),
      addWebhook: defineControl(
        v.object({
          id: v.optional(v.string({ min: 1, max: 64, pattern: /^[a-zA-Z0-9_-]+$/ })),
          secret: v.optional(v.string({ min: 16, max: 512 })),
        }),
        (input) => {
          const id = input.id ?? randomBytes(8).toString('hex');
          if (this.webhooks.has(id)) throw new EmulatorError('ALREADY_EXISTS', `webhook ${id} exists`);
          const secret = input.secret ?? randomBytes(32).toString('base64url');
          this.webhooks.set(id, { id, secret });
          return { id, secret, url: this.webhookUrl(id), httpUrl: this.webhookUrl(id, 'http') };
        },
      ),
      grantLogWriter: defineControl(
        v.object({ project: v.string({ min: 1, max: 64 }), member: v.string({ min: 3, max: 320 }) }),
        (input) => {
          const members = this.logWriters.get(input.project) ?? new Set<string>();
          members.add(input.member.replace(/^serviceAccount:/, ''));
          this.logWriters.set(input.project, members);
        },
      ),
      events: defineControl(v.object({ sink: v.optional(v.literal('splunk', 'gcp-logging', 'webhook')) }), (input) => ({
        events: this.events(input.sink),
      })),
      clearEvents: defineControl(v.object({}), () => this.clearEvents()),
    };
  }

  state() {
    return {
      httpUrl: this.httpUrl,
      httpsUrl: this.httpsUrl,
      splunkTokens: [...this.splunkTokens.values()].map(({ name, defaultIndex, allowedIndexes, disabled }) => ({
        name,
        defaultIndex,
        allowedIndexes,
        disabled,
      })),
      webhooks: [...this.webhooks.keys()].map((id) => ({ id, url: this.webhookUrl(id) })),
      logWriters: Object.fromEntries([...this.logWriters].map(([project, members]) => [project, [...members]])),
      counts: {
        splunk: this.events('splunk').length,
        'gcp-logging': this.events('gcp-logging').length,
        webhook: this.events('webhook').length,
      },
      faults: this.faults.list(),
    };
  }

  // ---- wire ----------------------------------------------------------------------------------------------------

  private async handle(exchange: Exchange): Promise<void> {
    const path = exchange.url.pathname;
    try {
      if (path === '/services/collector/health') {
        exchange.describe({ operation: 'splunk-health' });
        return exchange.json(200, { text: 'HEC is healthy', code: 17 });
      }
      if (SPLUNK_PATHS.has(path) && exchange.method === 'POST') return await this.handleSplunk(exchange);
      if (path === '/v2/entries:write' && exchange.method === 'POST') return await this.handleGcpLogging(exchange);
      const webhook = /^\/webhooks\/([a-zA-Z0-9_-]+)$/.exec(path);
      if (webhook && exchange.method === 'POST') return await this.handleWebhook(exchange, webhook[1]!);
      throw new SinkFailure(404, { error: 'not_found', message: `no sink at ${exchange.method} ${path}` }, 'not_found');
    } catch (error) {
      if (!(error instanceof SinkFailure)) throw error;
      exchange.noteError(error.code);
      exchange.json(error.status, error.body, error.headers);
    }
  }

  private async faultsFor(
    exchange: Exchange,
    sink: SinkName,
    keys: string[],
    principal: string | undefined,
    shape: (kind: FaultErrorKind, retryAfterMs?: number) => SinkFailure,
  ): Promise<void> {
    const fault = await exchange.applyFaults({ operation: sink, keys, principal, dataPlane: true });
    if (fault.error) throw shape(fault.error, fault.retryAfterMs);
  }

  private async handleSplunk(exchange: Exchange): Promise<void> {
    exchange.describe({ operation: 'splunk' });
    const fail = (status: number, text: string, code: number, extra: Record<string, unknown> = {}) =>
      new SinkFailure(status, { text, code, ...extra }, `splunk-${code}`);
    const authorization = exchange.header('authorization');
    if (!authorization) throw fail(401, 'Token is required', 2);
    const match = /^Splunk\s+(\S+)$/.exec(authorization);
    if (!match) throw fail(401, 'Invalid authorization', 3);
    const token = [...this.splunkTokens.values()].find((candidate) => safeEqual(candidate.token, match[1]!));
    if (!token) throw fail(403, 'Invalid token', 4);
    if (token.disabled) throw fail(403, 'Token disabled', 1);
    exchange.describe({ principal: token.name });
    await this.faultsFor(exchange, 'splunk', [token.name], token.name, (kind, retryAfterMs) => {
      const headers: Record<string, string> =
        retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
      if (kind === 'internal')
        return new SinkFailure(500, { text: 'Internal server error', code: 8 }, 'splunk-8', headers);
      if (kind === 'account') return new SinkFailure(403, { text: 'Token disabled', code: 1 }, 'splunk-1', headers);
      return new SinkFailure(503, { text: 'Server is busy', code: 9 }, 'splunk-9', headers);
    });
    const text = exchange.body.toString('utf8');
    if (text.trim() === '') throw fail(400, 'No data', 5);
    const documents = splitConcatenatedJson(text);
    // Like HEC, events before the first bad one are indexed; the answer names the bad one.
    for (let index = 0; index < documents.length; index++) {
      let parsed: Record<string, unknown>;
      try {
        const value = JSON.parse(documents[index]!);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        parsed = value;
      } catch {
        throw fail(400, 'Invalid data format', 6, { 'invalid-event-number': index });
      }
      if (!('event' in parsed)) throw fail(400, 'Event field is required', 12, { 'invalid-event-number': index });
      if (parsed.event === null || parsed.event === '')
        throw fail(400, 'Event field cannot be blank', 13, { 'invalid-event-number': index });
      const indexName = typeof parsed.index === 'string' ? parsed.index : token.defaultIndex;
      if (token.allowedIndexes && !token.allowedIndexes.includes(indexName)) {
        throw fail(400, 'Incorrect index', 7, { 'invalid-event-number': index });
      }
      this.received.push({
        sink: 'splunk',
        receivedAt: new Date().toISOString(),
        tokenName: token.name,
        index: indexName,
        sourcetype: typeof parsed.sourcetype === 'string' ? parsed.sourcetype : undefined,
        source: typeof parsed.source === 'string' ? parsed.source : undefined,
        host: typeof parsed.host === 'string' ? parsed.host : undefined,
        time: typeof parsed.time === 'number' || typeof parsed.time === 'string' ? parsed.time : undefined,
        fields:
          typeof parsed.fields === 'object' && parsed.fields !== null
            ? (parsed.fields as Record<string, unknown>)
            : undefined,
        event: parsed.event,
      });
    }
    exchange.json(200, { text: 'Success', code: 0 });
  }

  private async handleGcpLogging(exchange: Exchange): Promise<void> {
    exchange.describe({ operation: 'gcp-logging' });
    const rpc = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      new SinkFailure(status, { error: { code: status, message, status: code } }, code, headers);
    const auth = this.gcpIdentity.authenticate(exchange.header('authorization'), LOGGING_AUDIENCE, LOGGING_SCOPES);
    if ('error' in auth) {
      throw auth.error === 'UNAUTHENTICATED'
        ? rpc(401, 'UNAUTHENTICATED', auth.message, {
            'www-authenticate': 'Bearer realm="https://accounts.google.com/"',
          })
        : rpc(403, 'PERMISSION_DENIED', auth.message);
    }
    exchange.describe({ principal: auth.email });
    let body: { logName?: unknown; resource?: unknown; labels?: unknown; entries?: unknown };
    try {
      body = JSON.parse(exchange.body.toString('utf8'));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      throw rpc(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    const logNames = new Set<string>();
    if (!Array.isArray(body.entries) || body.entries.length === 0)
      throw rpc(400, 'INVALID_ARGUMENT', 'At least one log entry is required.');
    const entries = body.entries.map((entry: unknown, index: number) => {
      if (typeof entry !== 'object' || entry === null)
        throw rpc(400, 'INVALID_ARGUMENT', `entries[${index}]: expected an object.`);
      const record = entry as Record<string, unknown>;
      const logName =
        typeof record.logName === 'string'
          ? record.logName
          : typeof body.logName === 'string'
            ? body.logName
            : undefined;
      if (!logName || !/^projects\/[^/]+\/logs\/[^/]+$/.test(logName)) {
        throw rpc(
          400,
          'INVALID_ARGUMENT',
          `entries[${index}].log_name: a log name of the form projects/[PROJECT_ID]/logs/[LOG_ID] is required.`,
        );
      }
      if (record.jsonPayload === undefined && record.textPayload === undefined && record.protoPayload === undefined) {
        throw rpc(
          400,
          'INVALID_ARGUMENT',
          `entries[${index}]: a payload (jsonPayload, textPayload or protoPayload) is required.`,
        );
      }
      logNames.add(logName);
      return { record, logName };
    });
    const projects = [...logNames].map((name) => name.split('/')[1]!);
    await this.faultsFor(exchange, 'gcp-logging', [...logNames, ...projects], auth.email, (kind, retryAfterMs) => {
      const headers: Record<string, string> =
        retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
      if (kind === 'throttle')
        return rpc(
          429,
          'RESOURCE_EXHAUSTED',
          "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute' of service 'logging.googleapis.com'.",
          headers,
        );
      if (kind === 'internal') return rpc(500, 'INTERNAL', 'Internal error encountered.', headers);
      if (kind === 'timeout') return rpc(504, 'DEADLINE_EXCEEDED', 'Deadline exceeded.', headers);
      if (kind === 'account')
        return rpc(
          403,
          'PERMISSION_DENIED',
          'Cloud Logging API has not been used in this project before or it is disabled.',
          headers,
        );
      return rpc(503, 'UNAVAILABLE', 'The service is currently unavailable.', headers);
    });
    const ownProject = auth.email.split('@')[1]?.split('.')[0];
    for (const project of projects) {
      if (project !== ownProject && !this.logWriters.get(project)?.has(auth.email)) {
        throw rpc(
          403,
          'PERMISSION_DENIED',
          `Permission 'logging.logEntries.create' denied on resource (or it may not exist).`,
        );
      }
    }
    const now = new Date().toISOString();
    for (const { record, logName } of entries) {
      this.received.push({
        sink: 'gcp-logging',
        receivedAt: now,
        principal: auth.email,
        logName,
        resource: record.resource ?? body.resource,
        labels: {
          ...(body.labels as Record<string, string> | undefined),
          ...(record.labels as Record<string, string> | undefined),
        },
        severity: record.severity as string | number | undefined,
        timestamp: typeof record.timestamp === 'string' ? record.timestamp : undefined,
        insertId: typeof record.insertId === 'string' ? record.insertId : undefined,
        jsonPayload: record.jsonPayload,
        textPayload: typeof record.textPayload === 'string' ? record.textPayload : undefined,
      });
    }
    exchange.json(200, {});
  }

  private async handleWebhook(exchange: Exchange, id: string): Promise<void> {
    exchange.describe({ operation: 'webhook', keys: [id] });
    const webhook = this.webhooks.get(id);
    if (!webhook) throw new SinkFailure(404, { error: 'not_found', message: `no webhook ${id}` }, 'not_found');
    const header = exchange.header('x-opencmk-signature');
    const presented = header ? /^sha256=([0-9a-f]{64})$/i.exec(header.trim())?.[1]?.toLowerCase() : undefined;
    // docs/contracts.md §4: HMAC-SHA256 (RFC 2104) over the raw body, compared in constant time.
    const expected = createHmac('sha256', webhook.secret).update(exchange.body).digest('hex');
    if (!presented || !safeEqual(presented, expected)) {
      throw new SinkFailure(
        401,
        { error: 'invalid_signature', message: 'X-OpenCMK-Signature is missing or does not match the body' },
        'invalid_signature',
      );
    }
    exchange.describe({ principal: id });
    await this.faultsFor(exchange, 'webhook', [id], id, (kind, retryAfterMs) => {
      const headers: Record<string, string> =
        retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
      const statuses: Record<FaultErrorKind, number> = {
        throttle: 429,
        internal: 500,
        timeout: 504,
        unavailable: 503,
        account: 403,
      };
      const status = statuses[kind];
      return new SinkFailure(status, { error: kind, message: `injected ${kind}` }, `webhook-${status}`, headers);
    });
    const rawBody = exchange.body.toString('utf8');
    let body: unknown = rawBody;
    try {
      body = JSON.parse(rawBody);
    } catch {
      // Not JSON: the raw text is what gets recorded.
    }
    this.received.push({
      sink: 'webhook',
      receivedAt: new Date().toISOString(),
      webhookId: id,
      contentType: exchange.header('content-type') ?? null,
      body,
      rawBody,
    });
    exchange.send(204, '');
  }
}

/** Splits HEC's batch format: JSON objects concatenated back to back, with or without whitespace between them. */
export function splitConcatenatedJson(text: string): string[] {
  const documents: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 0 && /\s/.test(c)) continue;
    if (depth === 0 && start === -1) start = i;
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        documents.push(text.slice(start, i + 1));
        start = -1;
      }
    } else if (depth === 0) {
      // A bare scalar at top level is not an event object: hand it on so the caller reports its position.
      let end = i;
      while (end < text.length && !/[\s{]/.test(text[end]!)) end++;
      documents.push(text.slice(start, end));
      start = -1;
      i = end - 1;
    }
  }
  if (start !== -1) documents.push(text.slice(start));
  return documents;
}
