import { createHmac, createSign } from 'node:crypto';
import type { LoggingConfig } from './logging-config.js';
import type { QueuedEvent } from './types.js';
import type { HttpPoster } from './http-post.js';

export class SinkError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SinkError';
  }
}

export interface EventSink {
  readonly kind: 'stdout' | 'splunk' | 'gcp-logging' | 'webhook';
  deliver(events: QueuedEvent[]): Promise<void>;
}

const STDOUT_PIECE_CHARS = 60 * 1024;

/** Tenants without a logging config: one JSON line per event on stdout, a few writes per batch. */
export class StdoutSink implements EventSink {
  readonly kind = 'stdout' as const;
  constructor(private readonly write: (text: string) => boolean) {}
  deliver(events: QueuedEvent[]): Promise<void> {
    let text = '';
    let written = true;
    for (const event of events) {
      text += '{"type":"security_event",' + event.members + '}\n';
      // Written in pieces of under 64 Ki characters: a longer string is allocated in V8's large-object space, which
      // only a full GC frees.
      if (text.length >= STDOUT_PIECE_CHARS) {
        written = this.write(text) && written;
        text = '';
      }
    }
    if (text.length > 0) written = this.write(text) && written;
    // Not retried: a backlog that is full now will not have drained by the next attempt's few hundred ms.
    if (!written) return Promise.reject(new SinkError('stdout backlog full: events dropped', false));
    return Promise.resolve();
  }
}

function checkStatus(sink: string, status: number, body: string, retryAfterMs?: number): void {
  if (status >= 200 && status < 300) return;
  // 408, 429 and 5xx may pass later; other 4xx mean a bad config or token and would fail again.
  const retryable = status === 408 || status === 429 || status >= 500;
  throw new SinkError(`${sink} answered HTTP ${status}: ${body.slice(0, 200)}`, retryable, retryAfterMs);
}

/** Splunk HTTP Event Collector: `Authorization: Splunk <token>`, one JSON event object per line. */
export class SplunkSink implements EventSink {
  readonly kind = 'splunk' as const;
  private readonly url: string;
  /** host, source, sourcetype and index: the same for every event, serialised once. */
  private readonly fixedFields: string;
  constructor(
    private readonly config: Extract<LoggingConfig, { provider: 'splunk' }>,
    private readonly poster: HttpPoster,
  ) {
    const fixed = JSON.stringify({
      host: 'opencmk-tsp',
      source: 'opencmk-tenant-security-proxy',
      ...(config.sourcetype ? { sourcetype: config.sourcetype } : {}),
      ...(config.index ? { index: config.index } : {}),
    });
    this.fixedFields = `${fixed.slice(1, -1)},`;
    const url = new URL(config.url);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/services/collector/event';
    this.url = url.toString();
  }
  async deliver(events: QueuedEvent[]): Promise<void> {
    let body = '';
    for (const event of events) {
      body += `{"time":${event.timestampMillis / 1000},${this.fixedFields}"event":{${event.members}}}\n`;
    }
    const result = await this.poster.post(this.url, body, {
      authorization: `Splunk ${this.config.token}`,
      'content-type': 'application/json',
    });
    checkStatus('Splunk HEC', result.status, result.body, result.retryAfterMs);
  }
}

/**
 * Google Cloud Logging `entries:write`, authorised by a self-signed service-account JWT (Google's "service account
 * authorization without OAuth": RS256 JWT whose `aud` is the API's URL), renewed before it expires.
 */
export class GcpLoggingSink implements EventSink {
  readonly kind = 'gcp-logging' as const;
  private readonly base: string;
  private token: { value: string; expiresAt: number } | undefined;
  constructor(
    private readonly config: Extract<LoggingConfig, { provider: 'gcp-logging' }>,
    private readonly poster: HttpPoster,
  ) {
    this.base = (config.endpoint ?? 'https://logging.googleapis.com').replace(/\/+$/, '');
  }

  private bearer(): string {
    const now = Math.floor(Date.now() / 1000);
    if (this.token && this.token.expiresAt - 300 > now) return this.token.value;
    const key = this.config.serviceAccountKey;
    const header = {
      alg: 'RS256',
      typ: 'JWT',
      ...(typeof key.private_key_id === 'string' ? { kid: key.private_key_id } : {}),
    };
    const payload = {
      iss: key.client_email,
      sub: key.client_email,
      aud: 'https://logging.googleapis.com/',
      scope: 'https://www.googleapis.com/auth/logging.write',
      iat: now,
      exp: now + 3600,
    };
    const unsigned = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    let signature: string;
    try {
      signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key, 'base64url');
    } catch {
      throw new SinkError('service account private_key is not a usable RSA key', false);
    }
    this.token = { value: `${unsigned}.${signature}`, expiresAt: now + 3600 };
    return this.token.value;
  }

  async deliver(events: QueuedEvent[]): Promise<void> {
    const head = JSON.stringify({
      logName: `projects/${this.config.project}/logs/${encodeURIComponent(this.config.logName)}`,
      resource: { type: 'global', labels: { project_id: this.config.project } },
    });
    const entries = events.map(
      (event) =>
        `{"timestamp":"${new Date(event.timestampMillis).toISOString()}","severity":"${event.failed ? 'WARNING' : 'INFO'}",` +
        `"labels":${JSON.stringify({ tenantId: event.tenantId, event: event.event })},"jsonPayload":{${event.members}}}`,
    );
    const body = `${head.slice(0, -1)},"entries":[${entries.join(',')}]}`;
    const result = await this.poster.post(`${this.base}/v2/entries:write`, body, {
      authorization: `Bearer ${this.bearer()}`,
      'content-type': 'application/json',
    });
    if (result.status === 401) this.token = undefined;
    checkStatus('Cloud Logging', result.status, result.body, result.retryAfterMs);
  }
}

/** HTTPS webhook: JSON `{events:[…]}` signed with `X-OpenCMK-Signature: sha256=<hex HMAC-SHA256(secret, body)>` (RFC 2104). */
export class WebhookSink implements EventSink {
  readonly kind = 'webhook' as const;
  constructor(
    private readonly config: Extract<LoggingConfig, { provider: 'webhook' }>,
    private readonly poster: HttpPoster,
  ) {}
  async deliver(events: QueuedEvent[]): Promise<void> {
    const body = `{"events":[${events.map((event) => `{${event.members}}`).join(',')}]}`;
    const signature = createHmac('sha256', this.config.hmacSecret).update(body).digest('hex');
    const result = await this.poster.post(this.config.url, body, {
      'content-type': 'application/json',
      'x-opencmk-signature': `sha256=${signature}`,
    });
    checkStatus('Webhook', result.status, result.body, result.retryAfterMs);
  }
}

export function createSink(config: LoggingConfig, poster: HttpPoster): EventSink {
  switch (config.provider) {
    case 'splunk':
      return new SplunkSink(config, poster);
    case 'gcp-logging':
      return new GcpLoggingSink(config, poster);
    case 'webhook':
      return new WebhookSink(config, poster);
  }
}
