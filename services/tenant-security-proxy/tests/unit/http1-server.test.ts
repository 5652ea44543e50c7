import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Http1Server, type Http1Request, type Http1ServerOptions } from '../../src/http/http1-server.js';

// The strict HTTP/1.1 server (RFC 9112) is tested from the outside only: raw bytes over real TCP sockets on 127.0.0.1,
// and raw response bytes parsed here, so nothing of node:http's own leniency can hide a framing mistake.

/** One response as read off the wire. */
interface RawResponse {
  status: number;
  reason: string;
  /** Every header line in the order sent, names as sent. */
  headerLines: [string, string][];
  /** Lower-case name -> value (the last one if a name repeats). */
  headers: Map<string, string>;
  body: string;
}

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const CRLF = '\r\n';

/** A TCP client that writes raw bytes and parses whatever comes back into responses. */
class RawClient {
  readonly responses: RawResponse[] = [];
  /** Every byte received, in order. */
  received = Buffer.alloc(0);
  /** Set when the bytes received are not a well-formed HTTP/1.1 response stream. */
  parseError: string | undefined;
  /** The server ended or closed the connection. */
  ended = false;
  error: Error | undefined;
  private unparsed = Buffer.alloc(0);
  private readonly listeners = new Set<() => void>();

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.unparsed = Buffer.concat([this.unparsed, chunk]);
      this.parse();
      this.notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', (error) => {
      this.error = error;
    });
  }

  /** Writes `data` (a string is sent as latin1, one byte per character); resolves once handed to the kernel. */
  write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        resolve();
        return;
      }
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Resolves once `count` responses (1xx included) arrived, the connection ended, or `timeoutMs` passed. */
  async responsesAfter(count: number, timeoutMs = 5000): Promise<RawResponse[]> {
    await this.waitFor(() => this.responses.length >= count || this.ended || this.parseError !== undefined, timeoutMs);
    return this.responses;
  }

  /** Whether the server ended the connection within `timeoutMs`. */
  closed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.ended, timeoutMs);
  }

  private waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(value);
      };
      const check = () => {
        if (predicate()) finish(true);
      };
      const timer = setTimeout(() => finish(predicate()), timeoutMs);
      this.listeners.add(check);
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private parse(): void {
    while (this.parseError === undefined) {
      const headEnd = this.unparsed.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const lines = this.unparsed.subarray(0, headEnd).toString('latin1').split(CRLF);
      const statusLine = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(lines[0] ?? '');
      if (!statusLine) {
        this.parseError = `bad status line ${JSON.stringify(lines[0])}`;
        return;
      }
      const headerLines: [string, string][] = [];
      for (const line of lines.slice(1)) {
        const match = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/.exec(line);
        if (!match) {
          this.parseError = `bad header line ${JSON.stringify(line)}`;
          return;
        }
        headerLines.push([match[1]!, match[2]!]);
      }
      const headers = new Map(headerLines.map(([name, value]) => [name.toLowerCase(), value] as const));
      const status = Number(statusLine[1]);
      let length = 0;
      if (status >= 200) {
        const contentLength = headers.get('content-length');
        if (contentLength === undefined || !/^\d+$/.test(contentLength)) {
          this.parseError = `response ${status} without a valid content-length`;
          return;
        }
        length = Number(contentLength);
      }
      if (this.unparsed.length < headEnd + 4 + length) return;
      const body = this.unparsed.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      this.unparsed = this.unparsed.subarray(headEnd + 4 + length);
      this.responses.push({ status, reason: statusLine[2]!, headerLines, headers, body });
    }
  }
}

interface TestServer {
  server: Http1Server;
  port: number;
  /** Every request the handler received, in order. */
  requests: Http1Request[];
  /** Every errorBody(status, message) call. */
  errorCalls: [number, string][];
}

type ServerOverrides = Partial<Omit<Http1ServerOptions, 'errorBody'>>;

const servers = new Set<Http1Server>();
const clients: RawClient[] = [];

const errorJson = (status: number, message: string) => JSON.stringify({ code: status, message });

/** The default handler: the request, as JSON. */
function echo(request: Http1Request): void {
  request.respond(
    200,
    JSON.stringify({ method: request.method, target: request.target, body: request.body.toString('utf8') }),
  );
}

async function startServer(overrides: ServerOverrides = {}): Promise<TestServer> {
  const requests: Http1Request[] = [];
  const errorCalls: [number, string][] = [];
  const handler = overrides.handler ?? echo;
  const server = new Http1Server({
    maxBodyBytes: 1024 * 1024,
    ...overrides,
    handler: (request) => {
      requests.push(request);
      handler(request);
    },
    errorBody: (status, message) => {
      errorCalls.push([status, message]);
      return errorJson(status, message);
    },
  });
  const port = await server.listen(0, '127.0.0.1');
  servers.add(server);
  return { server, port, requests, errorCalls };
}

/** Closes a server the test is done with (afterEach closes the others). */
function closeServer(test: TestServer, graceMs: number): Promise<void> {
  servers.delete(test.server);
  return test.server.close(graceMs);
}

function openClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      const client = new RawClient(socket);
      clients.push(client);
      resolve(client);
    });
  });
}

/** Polls `predicate` every 5 ms until it holds or `timeoutMs` passed. */
async function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await delay(5);
  }
  return true;
}

/** A request: head lines joined by CRLF, the empty line, then `body`. */
function request(lines: string[], body = ''): string {
  return `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;
}

const get = (target = '/', ...headers: string[]) => request([`GET ${target} HTTP/1.1`, 'Host: test', ...headers]);

const post = (target: string, body: string, ...headers: string[]) =>
  request([`POST ${target} HTTP/1.1`, 'Host: test', `Content-Length: ${Buffer.byteLength(body)}`, ...headers], body);

/** Writes `bytes` in the pieces that `cuts` (positions, taken modulo the length) make, a millisecond apart. */
async function writePieces(client: RawClient, bytes: Buffer, cuts: number[]): Promise<void> {
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const position of [...positions, bytes.length]) {
    if (position <= start) continue;
    await client.write(bytes.subarray(start, position));
    start = position;
    await delay(1);
  }
}

/** The headers every response carries, in their documented form. */
function expectWellFormed(response: RawResponse): void {
  const names = response.headerLines.map(([name]) => name);
  for (const name of names) expect(name).toBe(name.toLowerCase());
  expect(new Set(names).size).toBe(names.length);
  expect(response.reason).toMatch(/^[\t !-~]+$/);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(response.body)));
  const date = response.headers.get('date') ?? '';
  expect(date).toMatch(IMF_FIXDATE);
  expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(10_000);
  const connection = response.headers.get('connection');
  expect(['keep-alive', 'close']).toContain(connection);
  if (connection === 'keep-alive') expect(response.headers.get('keep-alive')).toMatch(/^timeout=\d+$/);
  else expect(response.headers.has('keep-alive')).toBe(false);
}

/** The client got exactly one response, the server's own `status` error, and the connection was closed. */
async function expectErrorAndClose(client: RawClient, test: TestServer, status: number, timeoutMs = 5000) {
  const responses = await client.responsesAfter(1, timeoutMs);
  expect(client.parseError).toBeUndefined();
  expect(responses.map((response) => response.status)).toEqual([status]);
  const response = responses[0]!;
  expectWellFormed(response);
  expect(response.headers.get('connection')).toBe('close');
  const body = JSON.parse(response.body) as { code: number; message: string };
  expect(body).toEqual({ code: status, message: expect.any(String) });
  expect(test.errorCalls).toContainEqual([status, body.message]);
  expect(await client.closed(2000)).toBe(true);
  expect(client.responses).toHaveLength(1);
  expect(test.requests).toHaveLength(0);
}

/** The server still answers a fresh connection. */
async function expectServing(port: number): Promise<void> {
  const client = await openClient(port);
  await client.write(get('/alive'));
  const responses = await client.responsesAfter(1);
  expect(responses.map((response) => response.status)).toEqual([200]);
  client.socket.destroy();
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  const open = [...servers];
  servers.clear();
  await Promise.all(open.map((server) => server.close(0)));
});

describe('Http1Server responses', () => {
  it('answers a GET with the handler body and the documented headers, keeping the connection', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(get('/hello?x=1'));
    const responses = await client.responsesAfter(1);
    expect(client.parseError).toBeUndefined();
    expect(responses).toHaveLength(1);
    const response = responses[0]!;
    expect(client.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 [\t !-~]+\r\n/);
    expectWellFormed(response);
    expect(response.headers.get('connection')).toBe('keep-alive');
    expect(response.headers.get('keep-alive')).toBe('timeout=65');
    expect(JSON.parse(response.body)).toEqual({ method: 'GET', target: '/hello?x=1', body: '' });
    const received = test.requests[0]!;
    expect(received.headers).toEqual(['Host', 'test']);
    expect(Buffer.isBuffer(received.body)).toBe(true);
    expect(received.body).toHaveLength(0);
    expect(client.ended).toBe(false);
  });

  it('advertises keepAliveTimeoutMs in seconds', async () => {
    const test = await startServer({ keepAliveTimeoutMs: 5000 });
    const client = await openClient(test.port);
    await client.write(get());
    const [response] = await client.responsesAfter(1);
    expect(response?.headers.get('keep-alive')).toBe('timeout=5');
  });

  it('sends the handler status and a non-ASCII body verbatim, counting UTF-8 bytes', async () => {
    const body = '{"text":"héllo ✓ 🔑 ünïcödé"}';
    const test = await startServer({
      handler: (req) => req.respond(req.target === '/missing' ? 404 : 201, req.target === '/missing' ? '{}' : body),
    });
    const client = await openClient(test.port);
    await client.write(get('/unicode') + get('/missing'));
    const responses = await client.responsesAfter(2);
    expect(client.parseError).toBeUndefined();
    expect(responses.map((response) => response.status)).toEqual([201, 404]);
    expect(responses[0]!.body).toBe(body);
    expect(responses[0]!.headers.get('content-length')).toBe(String(Buffer.byteLength(body, 'utf8')));
    expect(Buffer.byteLength(body, 'utf8')).toBeGreaterThan(body.length);
    for (const response of responses) expectWellFormed(response);
  });

  it('sends a body given in pieces as one response, Content-Length counting all of them; HEAD gets the head only', async () => {
    const pieces = ['{"keys":{', '"é":"✓ 🔑"', '}}'];
    const whole = pieces.join('');
    const test = await startServer({ handler: (req) => req.respond(200, pieces) });
    const client = await openClient(test.port);
    await client.write(get('/batch') + get('/batch'));
    const responses = await client.responsesAfter(2);
    expect(client.parseError).toBeUndefined();
    for (const response of responses) {
      expectWellFormed(response);
      expect(response.body).toBe(whole);
      expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(whole, 'utf8')));
    }
    const head = await openClient(test.port);
    await head.write(request(['HEAD /batch HTTP/1.1', 'Host: test']));
    expect(await waitUntil(() => head.received.includes('\r\n\r\n'))).toBe(true);
    await delay(50);
    const text = head.received.toString('utf8');
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    expect(text).toContain(`content-length: ${Buffer.byteLength(whole, 'utf8')}\r\n`);
  });

  it('passes method, target and headers as sent, with values trimmed of surrounding spaces and tabs', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(
      request(
        [
          'POST /api/1/document/wrap?x=1 HTTP/1.1',
          'Host: example.test',
          'X-Spaced:  \t padded  value\t ',
          'x-lower:a\tb',
          'X-Empty:',
          'X-Blank: \t ',
          'Content-Length: 2',
        ],
        'hi',
      ),
    );
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => response.status)).toEqual([200]);
    const received = test.requests[0]!;
    expect(received.method).toBe('POST');
    expect(received.target).toBe('/api/1/document/wrap?x=1');
    expect(received.headers).toEqual([
      'Host',
      'example.test',
      'X-Spaced',
      'padded  value',
      'x-lower',
      'a\tb',
      'X-Empty',
      '',
      'X-Blank',
      '',
      'Content-Length',
      '2',
    ]);
    expect(received.body.toString()).toBe('hi');
  });

  it('keeps methods case-sensitive and accepts any token as a method', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(
      request(['delete / HTTP/1.1', 'Host: t']) + request(["M-SEARCH!#$%&'*+.^_`|~ /x HTTP/1.1", 'Host: t']),
    );
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(test.requests.map((req) => req.method)).toEqual(['delete', "M-SEARCH!#$%&'*+.^_`|~"]);
  });

  it('reduces an absolute-form target to origin form', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(
      request(['GET http://h/p?q HTTP/1.1', 'Host: h']) +
        request(['GET http://example.test:8080/a/b?c=d&e HTTP/1.1', 'Host: example.test:8080']),
    );
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(test.requests.map((req) => req.target)).toEqual(['/p?q', '/a/b?c=d&e']);
  });

  it('accepts an empty Host on HTTP/1.1 and no Host on HTTP/1.0', async () => {
    const test = await startServer();
    const first = await openClient(test.port);
    await first.write(request(['GET /empty HTTP/1.1', 'Host:']));
    expect((await first.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    const second = await openClient(test.port);
    await second.write(request(['GET /old HTTP/1.0']));
    expect((await second.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    expect(test.requests.map((req) => req.target)).toEqual(['/empty', '/old']);
  });

  it('ignores CRLFs before a request line, also between pipelined requests', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(`\r\n\r\n${post('/a', 'xy')}\r\n${get('/b')}`);
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(test.requests.map((req) => [req.target, req.body.toString()])).toEqual([
      ['/a', 'xy'],
      ['/b', ''],
    ]);
  });

  it('writes one response per request and ignores later respond calls without throwing', async () => {
    const test = await startServer({
      handler: (req) => {
        if (req.target === '/twice') {
          req.respond(200, '"first"');
          expect(() => req.respond(500, '"second"')).not.toThrow();
        } else echo(req);
      },
    });
    const client = await openClient(test.port);
    await client.write(get('/twice') + get('/next'));
    await client.responsesAfter(2);
    await delay(100);
    expect(client.parseError).toBeUndefined();
    expect(client.responses.map((response) => [response.status, response.body])).toEqual([
      [200, '"first"'],
      [200, JSON.stringify({ method: 'GET', target: '/next', body: '' })],
    ]);
  });
});

describe('Http1Server connection management', () => {
  it('serves sequential requests on one HTTP/1.1 connection', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    for (const target of ['/1', '/2', '/3']) {
      await client.write(get(target));
      await client.responsesAfter(test.requests.length + 1);
    }
    expect(client.responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(client.responses.map((response) => response.headers.get('connection'))).toEqual([
      'keep-alive',
      'keep-alive',
      'keep-alive',
    ]);
    expect(test.requests.map((req) => req.target)).toEqual(['/1', '/2', '/3']);
    expect(client.ended).toBe(false);
  });

  it.each(['close', 'Close', 'keep-alive, close'])(
    'answers Connection: %s with connection: close and closes the socket',
    async (value) => {
      const test = await startServer();
      const client = await openClient(test.port);
      await client.write(get('/', `Connection: ${value}`));
      const responses = await client.responsesAfter(1);
      expect(responses.map((response) => response.status)).toEqual([200]);
      expectWellFormed(responses[0]!);
      expect(responses[0]!.headers.get('connection')).toBe('close');
      expect(await client.closed(2000)).toBe(true);
    },
  );

  it('stops reading a client that does not read its answers, then serves every pipelined request in order', async () => {
    const padding = 'x'.repeat(8 * 1024);
    const test = await startServer({
      handler: (req) => req.respond(200, JSON.stringify({ target: req.target, padding })),
    });
    const socket = connect({ port: test.port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // 2,000 answers of 8 KiB are far more than the kernel's socket buffers hold.
    const count = 2000;
    socket.write(Array.from({ length: count }, (_, i) => get(`/${i}`)).join(''));
    await delay(300);
    const dispatchedWhileBlocked = test.requests.length;
    expect(dispatchedWhileBlocked).toBeGreaterThan(0);
    expect(dispatchedWhileBlocked).toBeLessThan(count);
    socket.resume();
    const text = () => Buffer.concat(received).toString('latin1');
    expect(
      await waitUntil(
        () => test.requests.length === count && text().split('HTTP/1.1 200 OK').length === count + 1,
        15_000,
      ),
    ).toBe(true);
    const targets = [...text().matchAll(/"target":"(\/\d+)"/g)].map((match) => match[1]);
    expect(targets).toEqual(Array.from({ length: count }, (_, i) => `/${i}`));
    socket.destroy();
  });

  it('ignores requests pipelined after one that asked to close', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(get('/1') + get('/2', 'Connection: close') + get('/3'));
    expect(await client.closed(3000)).toBe(true);
    expect(client.responses.map((response) => response.status)).toEqual([200, 200]);
    expect(client.responses.map((response) => response.headers.get('connection'))).toEqual(['keep-alive', 'close']);
    expect(test.requests.map((req) => req.target)).toEqual(['/1', '/2']);
  });

  it('closes an HTTP/1.0 connection after the response by default', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(request(['GET /old HTTP/1.0', 'Host: t']));
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => response.status)).toEqual([200]);
    expect(client.received.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(responses[0]!.headers.get('connection')).toBe('close');
    expect(await client.closed(2000)).toBe(true);
  });

  it('keeps an HTTP/1.0 connection that asks for keep-alive', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(request(['GET /1 HTTP/1.0', 'Connection: keep-alive']));
    await client.responsesAfter(1);
    await client.write(request(['POST /2 HTTP/1.0', 'Connection: Keep-Alive', 'Content-Length: 3'], 'abc'));
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(responses.map((response) => response.headers.get('connection'))).toEqual(['keep-alive', 'keep-alive']);
    expect(test.requests.map((req) => [req.target, req.body.toString()])).toEqual([
      ['/1', ''],
      ['/2', 'abc'],
    ]);
    expect(client.ended).toBe(false);
  });

  it('answers pipelined requests in order, dispatching each only after the previous response', async () => {
    const events: string[] = [];
    const test = await startServer({
      handler: (req) => {
        events.push(`dispatch ${req.target}`);
        if (req.target === '/slow') {
          setTimeout(() => {
            events.push('respond /slow');
            req.respond(200, '"slow"');
          }, 150);
        } else req.respond(200, JSON.stringify(req.target));
      },
    });
    const client = await openClient(test.port);
    await client.write(get('/slow') + post('/fast', 'body') + get('/fast2'));
    const responses = await client.responsesAfter(3);
    expect(responses.map((response) => response.body)).toEqual(['"slow"', '"/fast"', '"/fast2"']);
    expect(events).toEqual(['dispatch /slow', 'respond /slow', 'dispatch /fast', 'dispatch /fast2']);
  });

  it('answers the requests before a malformed pipelined one, then 400 and closes', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(get('/ok') + 'BROKEN\r\n\r\n' + get('/never'));
    expect(await client.closed(3000)).toBe(true);
    expect(client.responses.map((response) => response.status)).toEqual([200, 400]);
    expect(client.responses[1]!.headers.get('connection')).toBe('close');
    expect(test.requests.map((req) => req.target)).toEqual(['/ok']);
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs without a response', async () => {
    const test = await startServer({ keepAliveTimeoutMs: 300, requestTimeoutMs: 10_000 });
    const client = await openClient(test.port);
    await client.write(get());
    await client.responsesAfter(1);
    const idleSince = performance.now();
    expect(await client.closed(3000)).toBe(true);
    expect(performance.now() - idleSince).toBeGreaterThanOrEqual(250);
    expect(client.responses.map((response) => response.status)).toEqual([200]);
  });

  it('does not apply the keep-alive timeout to a slow handler or to a request being received', async () => {
    const test = await startServer({
      keepAliveTimeoutMs: 200,
      requestTimeoutMs: 5000,
      handler: (req) => {
        if (req.target === '/slow') setTimeout(() => echo(req), 400);
        else echo(req);
      },
    });
    const client = await openClient(test.port);
    await client.write(get('/slow'));
    expect((await client.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    await client.write(post('/trickle', 'abcdef'));
    expect((await client.responsesAfter(2)).map((response) => response.status)).toEqual([200, 200]);
    const third = Buffer.from(post('/third', 'ghijkl'), 'latin1');
    for (let start = 0; start < third.length; start += Math.ceil(third.length / 5)) {
      await client.write(third.subarray(start, start + Math.ceil(third.length / 5)));
      await delay(100);
    }
    const responses = await client.responsesAfter(3);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(test.requests.map((req) => [req.target, req.body.toString()])).toEqual([
      ['/slow', ''],
      ['/trickle', 'abcdef'],
      ['/third', 'ghijkl'],
    ]);
  });

  it('answers a client that half-closes after its request', async () => {
    const test = await startServer({ handler: (req) => setTimeout(() => echo(req), 50) });
    const client = await openClient(test.port);
    await client.write(post('/half', 'closed'));
    client.socket.end();
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => response.status)).toEqual([200]);
    expect(JSON.parse(responses[0]!.body)).toEqual({ method: 'POST', target: '/half', body: 'closed' });
  });

  it('survives clients that disconnect mid-head, mid-body or by reset', async () => {
    const test = await startServer();
    const midHead = await openClient(test.port);
    await midHead.write('GET / HTTP/1.1\r\nHo');
    midHead.socket.destroy();
    const midBody = await openClient(test.port);
    await midBody.write('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789');
    midBody.socket.end();
    const reset = await openClient(test.port);
    await reset.write('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123');
    reset.socket.resetAndDestroy();
    await delay(100);
    await expectServing(test.port);
    expect(test.requests.map((req) => req.target)).toEqual(['/alive']);
  });

  it('ignores a respond after the client went away, without throwing', async () => {
    const held: Http1Request[] = [];
    const test = await startServer({
      handler: (req) => {
        if (req.target === '/hold') held.push(req);
        else echo(req);
      },
    });
    const gone = await openClient(test.port);
    await gone.write(get('/hold'));
    const reset = await openClient(test.port);
    await reset.write(get('/hold'));
    expect(await waitUntil(() => held.length === 2)).toBe(true);
    gone.socket.destroy();
    reset.socket.resetAndDestroy();
    await delay(100);
    expect(() => held[0]!.respond(200, '"late"')).not.toThrow();
    expect(() => held[1]!.respond(200, '"late"')).not.toThrow();
    expect(() => held[1]!.respond(200, '"later"')).not.toThrow();
    await delay(50);
    await expectServing(test.port);
  });

  it('survives a client that disconnects while the response is being written', async () => {
    const big = JSON.stringify('x'.repeat(4 * 1024 * 1024));
    const held: Http1Request[] = [];
    const test = await startServer({
      handler: (req) => {
        if (req.target === '/big') held.push(req);
        else echo(req);
      },
    });
    const client = await openClient(test.port);
    client.socket.pause();
    await client.write(get('/big'));
    expect(await waitUntil(() => held.length === 1)).toBe(true);
    held[0]!.respond(200, big);
    client.socket.resetAndDestroy();
    await delay(100);
    await expectServing(test.port);
  });
});

describe('Http1Server request bodies', () => {
  it('reads a Content-Length body and a head sent byte by byte', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    const bytes = Buffer.from(post('/bytes', 'hello world'), 'latin1');
    await writePieces(
      client,
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    );
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => response.status)).toEqual([200]);
    expect(JSON.parse(responses[0]!.body)).toEqual({ method: 'POST', target: '/bytes', body: 'hello world' });
  });

  it('reads a large binary Content-Length body written in many pieces', async () => {
    const test = await startServer({ handler: (req) => req.respond(200, String(req.body.length)) });
    const client = await openClient(test.port);
    const body = Buffer.alloc(100_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 256;
    await client.write(`POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`);
    for (let start = 0; start < body.length; start += 4096) {
      await client.write(body.subarray(start, start + 4096));
      if (start % 32768 === 0) await delay(1);
    }
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => [response.status, response.body])).toEqual([[200, '100000']]);
    expect(test.requests[0]!.body.equals(body)).toBe(true);
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    const test = await startServer({ maxBodyBytes: 64 });
    const client = await openClient(test.port);
    const body = 'b'.repeat(64);
    const chunked = `20\r\n${body.slice(0, 32)}\r\n20\r\n${body.slice(32)}\r\n0\r\n\r\n`;
    await client.write(
      post('/cl', body) + request(['POST /te HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked'], chunked),
    );
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(test.requests.map((req) => req.body.toString())).toEqual([body, body]);
  });

  it('decodes chunked bodies with extensions, trailers, leading zeros and hex in either case', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    const ten = '0123456789';
    const twentySix = 'abcdefghijklmnopqrstuvwxyz';
    const chunked =
      `5;ext=1\r\nhello\r\n` +
      `A\r\n${ten}\r\n` +
      `a;name="quoted value";flag\r\n${ten}\r\n` +
      `1A\r\n${twentySix}\r\n` +
      `001a\r\n${twentySix}\r\n` +
      `0;last\r\nX-Trailer: v\r\nAnother-Trailer: w\r\n\r\n`;
    await client.write(
      request(['POST /chunked HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked'], chunked) +
        request(['POST /case HTTP/1.1', 'Host: t', 'Transfer-Encoding: Chunked'], '3\r\nabc\r\n0\r\n\r\n') +
        get('/after'),
    );
    const responses = await client.responsesAfter(3);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(test.requests.map((req) => req.body.toString())).toEqual([
      `hello${ten}${ten}${twentySix}${twentySix}`,
      'abc',
      '',
    ]);
    expect(test.requests[0]!.headers).toEqual(['Host', 't', 'Transfer-Encoding', 'chunked']);
  });

  it('decodes a chunked body sent byte by byte', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    const bytes = Buffer.from(
      request(
        ['POST /slow HTTP/1.1', 'Host: t', 'Transfer-Encoding: chunked'],
        '4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nT: 1\r\n\r\n',
      ),
      'latin1',
    );
    await writePieces(
      client,
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    );
    const responses = await client.responsesAfter(1);
    expect(responses.map((response) => response.status)).toEqual([200]);
    expect(test.requests[0]!.body.toString()).toBe('wikipedia');
  });

  it('reads no body without Content-Length or Transfer-Encoding, and none for Content-Length: 0', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(
      request(['POST /none HTTP/1.1', 'Host: t']) +
        request(['POST /zero HTTP/1.1', 'Host: t', 'Content-Length: 0']) +
        get('/next'),
    );
    const responses = await client.responsesAfter(3);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(test.requests.map((req) => [req.method, req.target, req.body.length])).toEqual([
      ['POST', '/none', 0],
      ['POST', '/zero', 0],
      ['GET', '/next', 0],
    ]);
    for (const req of test.requests) expect(Buffer.isBuffer(req.body)).toBe(true);
  });

  it('sends 100 Continue for Expect: 100-continue before reading the body', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write('POST /expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    const interim = await client.responsesAfter(1);
    expect(interim.map((response) => response.status)).toEqual([100]);
    expect(client.received.toString('latin1')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    expect(test.requests).toHaveLength(0);
    await client.write('hello');
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([100, 200]);
    expect(JSON.parse(responses[1]!.body)).toEqual({ method: 'POST', target: '/expect', body: 'hello' });
    expectWellFormed(responses[1]!);
  });

  it('matches the 100-continue expectation case-insensitively, also with a chunked body', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write(
      'POST /expect HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    expect((await client.responsesAfter(1)).map((response) => response.status)).toEqual([100]);
    await client.write('3\r\nabc\r\n0\r\n\r\n');
    const responses = await client.responsesAfter(2);
    expect(responses.map((response) => response.status)).toEqual([100, 200]);
    expect(test.requests[0]!.body.toString()).toBe('abc');
  });

  it('ignores Expect: 100-continue on HTTP/1.0', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write('POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi');
    expect(await client.closed(3000)).toBe(true);
    expect(client.responses.map((response) => response.status)).toEqual([200]);
    expect(client.received.toString('latin1')).not.toContain('100 Continue');
    expect(test.requests[0]!.body.toString()).toBe('hi');
  });
});

interface ErrorCase {
  name: string;
  raw: string;
  status: number;
}

const errorCases: ErrorCase[] = [
  { name: 'a request line without a version', raw: 'GET /\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a request line with a fourth part', raw: 'GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a target containing a space', raw: 'GET /a b HTTP/1.1\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'an empty method', raw: ' / HTTP/1.1\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a method with a non-token character', raw: 'G@T / HTTP/1.1\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a lower-case protocol name', raw: 'GET / http/1.1\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a version without a minor number', raw: 'GET / HTTP/1\r\nHost: t\r\n\r\n', status: 400 },
  { name: 'a request line of garbage', raw: 'BROKEN\r\n\r\n', status: 400 },
  { name: 'a space before the colon (Host :x)', raw: 'GET / HTTP/1.1\r\nHost :x\r\n\r\n', status: 400 },
  {
    name: 'a space before the colon of another header',
    raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n',
    status: 400,
  },
  { name: 'a header name with a separator', raw: 'GET / HTTP/1.1\r\nHost: t\r\nX(a): b\r\n\r\n', status: 400 },
  { name: 'an empty header name', raw: 'GET / HTTP/1.1\r\nHost: t\r\n: b\r\n\r\n', status: 400 },
  { name: 'a header line without a colon', raw: 'GET / HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n', status: 400 },
  {
    name: 'an obs-fold line starting with a space',
    raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n',
    status: 400,
  },
  {
    name: 'an obs-fold line starting with a tab',
    raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\tc\r\n\r\n',
    status: 400,
  },
  { name: 'a first header line starting with a space', raw: 'GET / HTTP/1.1\r\n Host: t\r\n\r\n', status: 400 },
  { name: 'a control character in a value', raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\x01c\r\n\r\n', status: 400 },
  { name: 'a NUL in a value', raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\x00c\r\n\r\n', status: 400 },
  { name: 'a DEL in a value', raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\x7fc\r\n\r\n', status: 400 },
  { name: 'a bare CR in a value', raw: 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\rc\r\n\r\n', status: 400 },
  { name: 'bare LF line endings', raw: 'GET / HTTP/1.1\nHost: t\n\n', status: 400 },
  { name: 'a bare LF ending one header line', raw: 'GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n', status: 400 },
  { name: 'a bare LF ending the head', raw: 'GET / HTTP/1.1\r\nHost: t\r\n\n', status: 400 },
  { name: 'a missing Host on HTTP/1.1', raw: 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n', status: 400 },
  { name: 'two Host headers', raw: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400 },
  {
    name: 'two identical Host headers in different case',
    raw: 'GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n',
    status: 400,
  },
  {
    name: 'both Content-Length and Transfer-Encoding',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  { name: 'Content-Length: 1,1', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1,1\r\n\r\nx', status: 400 },
  { name: 'Content-Length: -1', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n', status: 400 },
  { name: 'Content-Length: +5', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello', status: 400 },
  { name: 'Content-Length: abc', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n', status: 400 },
  { name: 'an empty Content-Length', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n', status: 400 },
  { name: 'Content-Length: 0x5', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello', status: 400 },
  { name: 'Content-Length: 1.5', raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1.5\r\n\r\nx', status: 400 },
  {
    name: 'two equal Content-Length headers',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    status: 400,
  },
  {
    name: 'chunked Transfer-Encoding on HTTP/1.0',
    raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'Transfer-Encoding: chunked, chunked',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'two Transfer-Encoding: chunked lines',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'a non-hex chunk size',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'a 0x-prefixed chunk size',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'an empty chunk size line',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'chunk data not followed by CRLF',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'chunk data followed directly by the next chunk size',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n',
    status: 400,
  },
  {
    name: 'a chunk size followed by whitespace and no ";"',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n',
    status: 400,
  },
  {
    name: 'Transfer-Encoding: gzip',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n',
    status: 501,
  },
  {
    name: 'Transfer-Encoding: gzip, chunked',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    status: 501,
  },
  {
    name: 'Transfer-Encoding: deflate',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: deflate\r\n\r\n',
    status: 501,
  },
  { name: 'HTTP/2.0', raw: 'GET / HTTP/2.0\r\nHost: t\r\n\r\n', status: 505 },
  { name: 'HTTP/1.2', raw: 'GET / HTTP/1.2\r\nHost: t\r\n\r\n', status: 505 },
  {
    name: 'an Expect other than 100-continue',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nExpect: something\r\nContent-Length: 2\r\n\r\nhi',
    status: 417,
  },
  {
    name: 'an unsupported Expect line followed by an Expect: 100-continue line',
    raw: 'POST / HTTP/1.1\r\nHost: t\r\nExpect: something\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
    status: 417,
  },
];

describe('Http1Server framing errors', () => {
  it.each(errorCases)('answers $status to $name, without the handler, and closes', async ({ raw, status }) => {
    const test = await startServer({ requestTimeoutMs: 20_000 });
    const client = await openClient(test.port);
    await client.write(raw);
    await expectErrorAndClose(client, test, status);
    await expectServing(test.port);
  });

  it('answers a huge Content-Length with 413 or 400, never with the handler', async () => {
    const test = await startServer();
    const client = await openClient(test.port);
    await client.write('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999999\r\n\r\n');
    const responses = await client.responsesAfter(1);
    expect([[400], [413]]).toContainEqual(responses.map((response) => response.status));
    expect(await client.closed(2000)).toBe(true);
    expect(test.requests).toHaveLength(0);
  });

  it('answers 413 to a Content-Length over maxBodyBytes without waiting for the body', async () => {
    const test = await startServer({ maxBodyBytes: 100, requestTimeoutMs: 20_000 });
    const client = await openClient(test.port);
    await client.write('POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n');
    await expectErrorAndClose(client, test, 413);
  });

  it('lets clients still uploading a refused body read the 413 without a connection reset', async () => {
    // RFC 9112 §9.6: a server closing while the client still sends should half-close and drain first; closing a
    // socket with unread input makes the kernel reset the connection, and an HTTP client (fetch: "write EPIPE")
    // then fails the request instead of reporting the 413.
    const test = await startServer({ maxBodyBytes: 100 });
    const size = 8 * 1024 * 1024;
    for (let i = 0; i < 4; i++) {
      const client = await openClient(test.port);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      // Like an HTTP client: the head, then the body in pieces as the socket takes them, until done or destroyed.
      const upload = (async () => {
        await client.write(`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`);
        for (let sent = 0; sent < size && !client.socket.destroyed; sent += chunk.length) await client.write(chunk);
      })();
      const responses = await client.responsesAfter(1);
      await upload;
      expect(responses.map((response) => response.status)).toEqual([413]);
      expect(await client.closed(5000)).toBe(true);
      expect(client.error).toBeUndefined();
    }
    expect(test.requests).toHaveLength(0);
  });

  it('answers 413 to a chunked body that grows past maxBodyBytes', async () => {
    const test = await startServer({ maxBodyBytes: 100, requestTimeoutMs: 20_000 });
    const client = await openClient(test.port);
    const chunk = 'c'.repeat(0x40);
    await client.write(
      `POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${chunk}\r\n40\r\n${chunk}\r\n`,
    );
    await expectErrorAndClose(client, test, 413);
  });

  it('answers a chunk size far beyond maxBodyBytes with 413 (or 400) before its data arrives', async () => {
    const test = await startServer({ maxBodyBytes: 100, requestTimeoutMs: 20_000 });
    const client = await openClient(test.port);
    await client.write('POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\nabc');
    const responses = await client.responsesAfter(1, 3000);
    expect([[400], [413]]).toContainEqual(responses.map((response) => response.status));
    expect(responses[0]!.headers.get('connection')).toBe('close');
    expect(await client.closed(2000)).toBe(true);
    expect(test.requests).toHaveLength(0);
  });

  it('answers 431 to a head larger than maxHeaderBytes, accepting one of exactly that size', async () => {
    const limit = 256;
    const head = (size: number) => {
      const base = 'GET / HTTP/1.1\r\nHost: t\r\nX-Pad: \r\n\r\n';
      return base.replace('X-Pad: ', `X-Pad: ${'p'.repeat(size - base.length)}`);
    };
    expect(head(limit)).toHaveLength(limit);
    const test = await startServer({ maxHeaderBytes: limit, requestTimeoutMs: 20_000 });
    const fits = await openClient(test.port);
    await fits.write(head(limit));
    expect((await fits.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    test.requests.length = 0;
    const tooLarge = await openClient(test.port);
    await tooLarge.write(head(limit + 3));
    await expectErrorAndClose(tooLarge, test, 431);
  });

  it('answers 431 as soon as an unfinished head passes maxHeaderBytes', async () => {
    const test = await startServer({ maxHeaderBytes: 256, requestTimeoutMs: 20_000 });
    const client = await openClient(test.port);
    const started = performance.now();
    await client.write(`GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ${'p'.repeat(400)}`);
    await expectErrorAndClose(client, test, 431, 3000);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('answers 431 to more than maxHeaders header lines, accepting exactly maxHeaders', async () => {
    const lines = (count: number) => ['Host: t', ...Array.from({ length: count - 1 }, (_, i) => `X-H${i}: ${i}`)];
    const test = await startServer({ maxHeaders: 10, requestTimeoutMs: 20_000 });
    const fits = await openClient(test.port);
    await fits.write(request(['GET / HTTP/1.1', ...lines(10)]));
    expect((await fits.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    expect(test.requests[0]!.headers).toHaveLength(20);
    test.requests.length = 0;
    const tooMany = await openClient(test.port);
    await tooMany.write(request(['GET / HTTP/1.1', ...lines(11)]));
    await expectErrorAndClose(tooMany, test, 431);
  });

  it('defaults to 100 header lines and a 16384-byte head', async () => {
    const lines = (count: number) => ['Host: t', ...Array.from({ length: count - 1 }, (_, i) => `X-H${i}: ${i}`)];
    const test = await startServer();
    const hundred = await openClient(test.port);
    await hundred.write(request(['GET / HTTP/1.1', ...lines(100)]));
    expect((await hundred.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    const big = await openClient(test.port);
    await big.write(request(['GET / HTTP/1.1', 'Host: t', `X-Pad: ${'p'.repeat(16_000)}`]));
    expect((await big.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    test.requests.length = 0;
    const hundredOne = await openClient(test.port);
    await hundredOne.write(request(['GET / HTTP/1.1', ...lines(101)]));
    await expectErrorAndClose(hundredOne, test, 431);
    const tooBig = await openClient(test.port);
    await tooBig.write(request(['GET / HTTP/1.1', 'Host: t', `X-Pad: ${'p'.repeat(17_000)}`]));
    await expectErrorAndClose(tooBig, test, 431);
  });

  it('answers 408 and closes when a head is not complete within requestTimeoutMs', async () => {
    const test = await startServer({ requestTimeoutMs: 300 });
    const client = await openClient(test.port);
    const started = performance.now();
    await client.write('GET / HTTP/1.1\r\nHost: te');
    await expectErrorAndClose(client, test, 408, 3000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('answers 408 when the body of a later keep-alive request is not complete within requestTimeoutMs', async () => {
    const test = await startServer({ requestTimeoutMs: 300, keepAliveTimeoutMs: 10_000 });
    const client = await openClient(test.port);
    await client.write(get('/first'));
    expect((await client.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    const started = performance.now();
    await client.write('POST /second HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345');
    const responses = await client.responsesAfter(2, 3000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(responses.map((response) => response.status)).toEqual([200, 408]);
    expect(responses[1]!.headers.get('connection')).toBe('close');
    expect(JSON.parse(responses[1]!.body)).toEqual({ code: 408, message: expect.any(String) });
    expect(await client.closed(2000)).toBe(true);
    expect(test.requests.map((req) => req.target)).toEqual(['/first']);
  });
});

describe('Http1Server close', () => {
  it('closes idle connections at once, refuses new ones and lets the in-flight request finish', async () => {
    const held: Http1Request[] = [];
    const test = await startServer({
      handler: (req) => {
        if (req.target === '/hold') held.push(req);
        else echo(req);
      },
    });
    const idle = await openClient(test.port);
    await idle.write(get('/'));
    expect((await idle.responsesAfter(1)).map((response) => response.status)).toEqual([200]);
    const busy = await openClient(test.port);
    await busy.write(get('/hold'));
    expect(await waitUntil(() => held.length === 1)).toBe(true);

    let resolved = false;
    const closing = closeServer(test, 2000).then(() => {
      resolved = true;
    });
    expect(await idle.closed(1000)).toBe(true);
    await expect(openClient(test.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await delay(100);
    expect(resolved).toBe(false);
    expect(busy.ended).toBe(false);

    held[0]!.respond(200, '{"late":true}');
    const responses = await busy.responsesAfter(1);
    expect(responses.map((response) => [response.status, response.body])).toEqual([[200, '{"late":true}']]);
    expectWellFormed(responses[0]!);
    expect(responses[0]!.headers.get('connection')).toBe('close');
    expect(await busy.closed(2000)).toBe(true);
    const waitStarted = performance.now();
    await closing;
    expect(performance.now() - waitStarted).toBeLessThan(1500);
  });

  it('destroys a connection whose handler never responds once graceMs has passed', async () => {
    const held: Http1Request[] = [];
    const test = await startServer({ handler: (req) => held.push(req) });
    const client = await openClient(test.port);
    await client.write(get('/never'));
    expect(await waitUntil(() => held.length === 1)).toBe(true);
    const started = performance.now();
    await closeServer(test, 200);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);
    expect(await client.closed(1000)).toBe(true);
    expect(client.responses.filter((response) => response.status === 200)).toHaveLength(0);
    expect(() => held[0]!.respond(200, '"too late"')).not.toThrow();
  });

  it('resolves at once with no connections', async () => {
    const test = await startServer();
    const started = performance.now();
    await closeServer(test, 5000);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(openClient(test.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

// ---- property tests ----

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const methodArb = tokenArb.filter((method) => !['HEAD', 'CONNECT'].includes(method.toUpperCase()));
const reservedHeaders = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);
const headerNameArb = tokenArb.filter((name) => !reservedHeaders.has(name.toLowerCase()));
const headerValueArb = fc.oneof(fc.constant(''), fc.stringMatching(/^[!-~]([\t !-~]{0,30}[!-~])?$/));
const paddingArb = fc.stringMatching(/^[ \t]{0,3}$/);
const targetArb = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,30}$/),
    fc.option(fc.stringMatching(/^[A-Za-z0-9=&._~/?-]{0,20}$/), { nil: undefined }),
  )
  .map(([path, query]) => `/${path}${query === undefined ? '' : `?${query}`}`);

const validRequestArb = fc.record({
  method: methodArb,
  target: targetArb,
  headers: fc.array(fc.record({ name: headerNameArb, value: headerValueArb, before: paddingArb, after: paddingArb }), {
    maxLength: 8,
  }),
  body: fc.uint8Array({ maxLength: 300 }),
  framing: fc.constantFrom('content-length', 'chunked', 'none'),
  chunkCuts: fc.array(fc.nat(), { maxLength: 6 }),
  upperHex: fc.boolean(),
  extensions: fc.boolean(),
});

type ValidRequest = typeof validRequestArb extends fc.Arbitrary<infer T> ? T : never;

interface EncodedRequest {
  bytes: Buffer;
  method: string;
  target: string;
  headers: string[];
  body: Buffer;
}

function encodeChunked(body: Buffer, cuts: number[], upperHex: boolean, extensions: boolean): Buffer {
  const positions = [...new Set(cuts.map((cut) => cut % (body.length + 1)))].filter((p) => p > 0 && p < body.length);
  const bounds = [0, ...positions.sort((a, b) => a - b), body.length];
  const parts: Buffer[] = [];
  for (let i = 1; i < bounds.length; i++) {
    const data = body.subarray(bounds[i - 1]!, bounds[i]!);
    if (data.length === 0) continue;
    const size = upperHex ? data.length.toString(16).toUpperCase() : data.length.toString(16);
    parts.push(Buffer.from(`${size}${extensions ? `;ext${i}=v` : ''}\r\n`, 'latin1'), data, Buffer.from(CRLF));
  }
  parts.push(Buffer.from(`0${extensions ? ';end' : ''}\r\n${extensions ? 'X-Trailer: t\r\n' : ''}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

function encodeRequest(spec: ValidRequest): EncodedRequest {
  const body = spec.framing === 'none' ? Buffer.alloc(0) : Buffer.from(spec.body);
  const lines = [`${spec.method} ${spec.target} HTTP/1.1`, 'Host: example.test'];
  const headers = ['Host', 'example.test'];
  for (const header of spec.headers) {
    lines.push(`${header.name}:${header.before}${header.value}${header.after}`);
    headers.push(header.name, header.value);
  }
  let payload: Buffer = Buffer.alloc(0);
  if (spec.framing === 'content-length') {
    lines.push(`Content-Length: ${body.length}`);
    headers.push('Content-Length', String(body.length));
    payload = body;
  } else if (spec.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    headers.push('Transfer-Encoding', 'chunked');
    payload = encodeChunked(body, spec.chunkCuts, spec.upperHex, spec.extensions);
  }
  const bytes = Buffer.concat([Buffer.from(request(lines), 'latin1'), payload]);
  return { bytes, method: spec.method, target: spec.target, headers, body };
}

const interestingByteArb = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0xff, 0x2c, 0x3b, 0x30, 0x41),
);

const mutatedRequestArb = fc
  .tuple(
    validRequestArb,
    fc.array(
      fc.record({ kind: fc.constantFrom('replace', 'insert', 'delete'), at: fc.nat(), byte: interestingByteArb }),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([spec, mutations]) => {
    const bytes = [...encodeRequest(spec).bytes];
    for (const mutation of mutations) {
      if (mutation.kind === 'insert') bytes.splice(mutation.at % (bytes.length + 1), 0, mutation.byte);
      else if (bytes.length > 0 && mutation.kind === 'delete') bytes.splice(mutation.at % bytes.length, 1);
      else if (bytes.length > 0) bytes[mutation.at % bytes.length] = mutation.byte;
    }
    return Buffer.from(bytes);
  });

const garbageTokens = [
  'GET',
  'POST',
  ' ',
  '/',
  '/x?y',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/2.0',
  '\r\n',
  '\r',
  '\n',
  '\t',
  ':',
  'Host: a',
  'Content-Length: ',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip',
  'Expect: 100-continue',
  'Connection: close',
  '0',
  '5',
  'ff',
  '-1',
  ',',
  'x',
  '\x00',
  '\x7f',
];

const garbageArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc
    .array(fc.constantFrom(...garbageTokens), { minLength: 1, maxLength: 40 })
    .map((parts) => Buffer.from(parts.join(''), 'latin1')),
  mutatedRequestArb,
);

describe('Http1Server properties', () => {
  it('delivers random valid requests cut into random pieces exactly once each, unchanged', async () => {
    const test = await startServer();
    await fc.assert(
      fc.asyncProperty(
        fc.array(validRequestArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (specs, cuts) => {
          test.requests.length = 0;
          const encoded = specs.map(encodeRequest);
          const client = await openClient(test.port);
          try {
            await writePieces(client, Buffer.concat(encoded.map((e) => e.bytes)), cuts);
            const responses = await client.responsesAfter(encoded.length);
            expect(client.parseError).toBeUndefined();
            expect(responses.map((response) => response.status)).toEqual(encoded.map(() => 200));
            expect(test.requests).toHaveLength(encoded.length);
            encoded.forEach((expected, i) => {
              const received = test.requests[i]!;
              expect(received.method).toBe(expected.method);
              expect(received.target).toBe(expected.target);
              expect(received.headers).toEqual(expected.headers);
              expect(received.body.toString('hex')).toBe(expected.body.toString('hex'));
            });
          } finally {
            client.socket.destroy();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('answers garbage and mutated requests only with the documented statuses, and keeps serving', async () => {
    const allowed = [200, 400, 408, 413, 417, 431, 501, 505];
    const test = await startServer({
      maxBodyBytes: 200,
      maxHeaderBytes: 1024,
      maxHeaders: 20,
      requestTimeoutMs: 80,
      keepAliveTimeoutMs: 80,
    });
    await fc.assert(
      fc.asyncProperty(garbageArb, fc.boolean(), async (bytes, halfClose) => {
        test.requests.length = 0;
        const client = await openClient(test.port);
        try {
          await client.write(bytes);
          if (halfClose) client.socket.end();
          expect(await client.closed(3000)).toBe(true);
          expect(client.parseError).toBeUndefined();
          // A valid request with `Expect: 100-continue` may get its interim response first.
          const interim = client.responses.filter((response) => response.status < 200);
          for (const response of interim) expect(response.status).toBe(100);
          const final = client.responses.filter((response) => response.status >= 200);
          const statuses = final.map((response) => response.status);
          for (const status of statuses) expect(allowed).toContain(status);
          // A 200 only ever answers a request the handler accepted.
          expect(statuses.filter((status) => status === 200)).toHaveLength(test.requests.length);
          for (const response of final) {
            expectWellFormed(response);
            if (response.status !== 200) expect(response.headers.get('connection')).toBe('close');
          }
        } finally {
          client.socket.destroy();
        }
      }),
      { numRuns: 150 },
    );
    await expectServing(test.port);
  });
});
