import { createServer, type Server, type Socket } from 'node:net';

/**
 * A strict HTTP/1.1 server (RFC 9112) for the TSP API: JSON requests in, JSON responses out, nothing else.
 *
 * Why not node:http: per request it builds an IncomingMessage and a ServerResponse (two streams, their listeners,
 * a header object), and measured against the same proxy on this layer it cost a third of the proxy's CPU per wrap.
 * The API needs none of that: bodies are small and read whole, responses are one string.
 *
 * Why this is safe to own: request smuggling comes from two parsers disagreeing on where a message ends. This one
 * accepts only unambiguous framing and closes the connection on anything else: CRLF line endings only, no obs-fold,
 * no whitespace before a header colon, one Content-Length of digits, Transfer-Encoding exactly `chunked` and never
 * with Content-Length, no Transfer-Encoding in HTTP/1.0, exactly one Host. Every rejection answers with its status
 * and `connection: close`, and the bytes after it are never parsed.
 */

export interface Http1ServerOptions {
  /** Called once per complete request; must call `request.respond` once (later calls are ignored). */
  handler: (request: Http1Request) => void;
  maxBodyBytes: number;
  /** Request line, header lines and their CRLFs (node:http's default). */
  maxHeaderBytes?: number;
  maxHeaders?: number;
  keepAliveTimeoutMs?: number;
  /** From a request's first byte until it is fully received (slow-loris protection). */
  requestTimeoutMs?: number;
  /** Body of the responses this layer writes itself for framing errors. */
  errorBody: (status: number, message: string) => string;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** How long a closing connection keeps reading the client's remaining bytes before it is cut. */
const LINGER_MS = 2000;
/** RFC 9110 §5.6.2 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9112 §3: method SP request-target SP HTTP-version; the target is any run of visible ASCII. */
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
/** RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB; CR, LF, NUL and other controls are refused. */
const BAD_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
/** RFC 3986 host [":" port], loosely: the characters a reg-name, IP literal or port may hold. */
const HOST_VALUE = /^[A-Za-z0-9._~!$&'()*+,;=:%[\]-]*$/;
const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  417: 'Expectation Failed',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** A framing error: answered with `status` and the connection closed. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Http1Request {
  /** @internal set once the response is written (or the connection is gone). */
  responded = false;
  constructor(
    private readonly connection: Connection,
    readonly method: string,
    readonly target: string,
    /** Flat name/value pairs, names as sent, values without surrounding whitespace. */
    readonly headers: string[],
    readonly body: Buffer,
    /** @internal */
    readonly keepAlive: boolean,
  ) {}

  /**
   * Sends the response. A large body comes as pieces: a string over about 64 Ki characters is allocated in V8's
   * large-object space, which only a full GC frees, so a busy batch endpoint answering in one string would grow the
   * old generation by every answer it sends.
   */
  respond(status: number, body: string | readonly string[]): void {
    if (this.responded) return;
    this.responded = true;
    this.connection.respond(this, status, body);
  }
}

interface Head {
  method: string;
  target: string;
  headers: string[];
  keepAlive: boolean;
  /** -1: chunked. */
  contentLength: number;
  expectContinue: boolean;
}

/** RFC 9112 §2–§6 for one request head (without its final empty line), or an HttpError. */
function parseHead(text: string, maxHeaders: number): Head {
  // Lines are found with indexOf and only names and values are sliced out: this runs for every request, and a split
  // into line strings (then names, values and trimmed values) was most of what the layer allocated.
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = text.length;
  const requestLine = REQUEST_LINE.exec(lineEnd === text.length ? text : text.slice(0, lineEnd));
  if (!requestLine) {
    // A bare LF or a stray CR leaves its line in one piece: report it as what it is.
    throw new HttpError(
      400,
      /[\r\n]/.test(text.replace(/\r\n/g, '')) ? 'bare CR or LF in request' : 'bad request line',
    );
  }
  const [, method, rawTarget, major, minor] = requestLine;
  if (major !== '1' || (minor !== '1' && minor !== '0'))
    throw new HttpError(505, `HTTP/${major}.${minor} not supported`);
  const http11 = minor === '1';
  const headers: string[] = [];
  let hosts = 0;
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = '';
  let expect: string | undefined;
  let count = 0;
  while (lineEnd < text.length) {
    const start = lineEnd + 2;
    lineEnd = text.indexOf('\r\n', start);
    if (lineEnd === -1) lineEnd = text.length;
    if (++count > maxHeaders) throw new HttpError(431, `more than ${maxHeaders} header lines`);
    const first = text.charCodeAt(start);
    // RFC 9112 §5.2: obs-fold is refused.
    if (first === 32 || first === 9) throw new HttpError(400, 'obsolete line folding in headers');
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= lineEnd) throw new HttpError(400, 'malformed header line');
    const name = text.slice(start, colon);
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    if (!TOKEN.test(name)) throw new HttpError(400, 'invalid header name');
    // OWS around the value (RFC 9110 §5.5) is not part of it.
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && isOws(text.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isOws(text.charCodeAt(valueEnd - 1))) valueEnd--;
    const value = text.slice(valueStart, valueEnd);
    if (BAD_VALUE_CHAR.test(value)) throw new HttpError(400, 'invalid character in header value');
    headers.push(name, value);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          hosts++;
          if (!HOST_VALUE.test(value)) throw new HttpError(400, 'invalid Host header');
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') expect = expect === undefined ? value : `${expect},${value}`;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') connection += `,${value.toLowerCase()}`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          // RFC 9110 §8.6 allows identical repeats; refusing every repeat leaves nothing to disagree about.
          if (contentLength !== undefined) throw new HttpError(400, 'more than one Content-Length');
          contentLength = value;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding')
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
    }
  }
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in HTTP/1.0.
  if (hosts > 1 || (http11 && hosts === 0)) throw new HttpError(400, hosts > 1 ? 'more than one Host' : 'missing Host');
  let length = 0;
  if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; §6.3: with Content-Length it is a smuggling
    // attempt or a broken intermediary. Both are refused rather than guessed at.
    if (!http11) throw new HttpError(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (contentLength !== undefined) throw new HttpError(400, 'both Transfer-Encoding and Content-Length');
    // RFC 9110 §5.6.1: empty list elements are ignored.
    const codings = transferEncoding
      .split(',')
      .map((coding) => trimOws(coding).toLowerCase())
      .filter((coding) => coding !== '');
    if (codings.length === 0) throw new HttpError(400, 'empty Transfer-Encoding');
    if (codings.some((coding) => coding !== 'chunked')) throw new HttpError(501, 'only the chunked transfer coding');
    if (codings.length !== 1) throw new HttpError(400, 'chunked applied more than once');
    length = -1;
  } else if (contentLength !== undefined) {
    if (!/^\d{1,15}$/.test(contentLength)) throw new HttpError(400, 'invalid Content-Length');
    length = Number(contentLength);
  }
  const tokens = connection === '' ? [] : connection.split(',').map(trimOws);
  const keepAlive = http11 ? !tokens.includes('close') : tokens.includes('keep-alive');
  let expectContinue = false;
  if (expect !== undefined) {
    if (expect.split(',').some((item) => trimOws(item).toLowerCase() !== '100-continue'))
      throw new HttpError(417, `unsupported Expect: ${expect.slice(0, 40)}`);
    expectContinue = http11;
  }
  return {
    method: method!,
    target: originForm(rawTarget!),
    headers,
    keepAlive,
    contentLength: length,
    expectContinue,
  };
}

/** RFC 9112 §3.2.2: a server must accept the absolute form; the handler sees the path and query. */
function originForm(target: string): string {
  if (target.charCodeAt(0) === 47) return target;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(target);
  if (!scheme) return target;
  const rest = target.slice(scheme[0].length);
  return rest === '' || rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
}

/** SP or HTAB (RFC 9110 §5.6.3 OWS). */
function isOws(code: number): boolean {
  return code === 32 || code === 9;
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), then the CRLF. */
const CHUNK_EXTENSIONS =
  /^(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))?)*$/;

const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const TRAILER_LF = 7;
const DONE = 8;

/**
 * RFC 9112 §7.1 chunked transfer coding, incrementally: `push` consumes what it can of the bytes given and returns
 * how many it consumed. Extensions and trailer fields are read and ignored; line endings must be CRLF.
 */
class ChunkedDecoder {
  private state = SIZE;
  private size = 0;
  private sizeDigits = 0;
  private remaining = 0;
  private lineBytes = 0;
  private extension = '';
  private trailerLine = '';
  private trailerBytes = 0;
  private readonly pieces: Buffer[] = [];
  private total = 0;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly maxTrailerBytes: number,
  ) {}

  get done(): boolean {
    return this.state === DONE;
  }

  body(): Buffer {
    return this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.total);
  }

  push(bytes: Buffer): number {
    let i = 0;
    while (i < bytes.length && this.state !== DONE) {
      const byte = bytes[i]!;
      switch (this.state) {
        case SIZE: {
          const digit = hexValue(byte);
          if (digit >= 0) {
            // Eight hex digits already exceed any body limit: no overflow, and a clear 413 below.
            if (++this.sizeDigits > 8) throw new HttpError(413, 'chunk size too large');
            this.size = this.size * 16 + digit;
            i++;
          } else if (this.sizeDigits > 0 && byte === 13) {
            this.state = SIZE_LF;
            i++;
          } else if (this.sizeDigits > 0 && (byte === 59 || byte === 32 || byte === 9)) {
            this.state = EXTENSION;
          } else throw new HttpError(400, 'malformed chunk size');
          break;
        }
        case EXTENSION:
          // chunk-ext is ignored, but must be well formed (checked whole at its CR) and bounded.
          if (byte === 13) {
            if (!CHUNK_EXTENSIONS.test(this.extension)) throw new HttpError(400, 'malformed chunk extension');
            this.extension = '';
            this.state = SIZE_LF;
          } else if (++this.lineBytes > 4096) throw new HttpError(400, 'chunk extension too long');
          else this.extension += String.fromCharCode(byte);
          i++;
          break;
        case SIZE_LF:
          if (byte !== 10) throw new HttpError(400, 'chunk size line not ended by CRLF');
          i++;
          if (this.total + this.size > this.maxBodyBytes)
            throw new HttpError(413, `body larger than ${this.maxBodyBytes} bytes`);
          this.lineBytes = 0;
          this.sizeDigits = 0;
          if (this.size === 0) {
            this.state = TRAILER;
          } else {
            this.remaining = this.size;
            this.state = DATA;
          }
          this.size = 0;
          break;
        case DATA: {
          const take = Math.min(this.remaining, bytes.length - i);
          this.pieces.push(bytes.subarray(i, i + take));
          this.total += take;
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (byte !== 13) throw new HttpError(400, 'chunk data not followed by CRLF');
          this.state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (byte !== 10) throw new HttpError(400, 'chunk data not followed by CRLF');
          this.state = SIZE;
          i++;
          break;
        case TRAILER:
          // trailer-section = *( field-line CRLF ) CRLF: each line is checked like a header and then dropped.
          if (byte === 13) this.state = TRAILER_LF;
          else {
            if ((byte < 32 && byte !== 9) || byte === 127) throw new HttpError(400, 'invalid character in trailer');
            if (++this.trailerBytes > this.maxTrailerBytes) throw new HttpError(431, 'trailer section too large');
            this.trailerLine += String.fromCharCode(byte);
          }
          i++;
          break;
        case TRAILER_LF:
          if (byte !== 10) throw new HttpError(400, 'trailer line not ended by CRLF');
          i++;
          if (this.trailerLine === '') {
            this.state = DONE;
          } else {
            const colon = this.trailerLine.indexOf(':');
            if (colon <= 0 || !TOKEN.test(this.trailerLine.slice(0, colon)))
              throw new HttpError(400, 'malformed trailer field');
            this.trailerLine = '';
            this.state = TRAILER;
          }
          break;
      }
    }
    return i;
  }
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 65 && byte <= 70) return byte - 55;
  if (byte >= 97 && byte <= 102) return byte - 87;
  return -1;
}

/** One TCP connection: parses requests one at a time and answers them in order. */
class Connection {
  /** Received bytes not yet parsed. */
  private input: Buffer[] = [];
  private inputBytes = 0;
  /** Where to resume looking for the end of the head (bytes already searched). */
  private headSearchFrom = 0;
  private head: Head | undefined;
  private chunked: ChunkedDecoder | undefined;
  /** A request was dispatched and its response is not written yet: nothing else is parsed meanwhile. */
  private current: Http1Request | undefined;
  private waitingForDrain = false;
  private closing = false;
  private peerEnded = false;
  private parsing = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** When the request being received started (0: between requests). */
  requestStartedAt = 0;
  lastActivity = Date.now();

  constructor(
    private readonly server: Http1Server,
    readonly socket: Socket,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  /** Nothing in flight and nothing half received. */
  get idle(): boolean {
    return this.current === undefined && this.requestStartedAt === 0 && this.inputBytes === 0;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.requestStartedAt === 0) this.requestStartedAt = Date.now();
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    if (this.current !== undefined || this.waitingForDrain) {
      // Pipelined bytes wait for the answer in progress; past one request's worth, stop reading the socket.
      if (this.inputBytes > this.server.maxRequestBytes) this.socket.pause();
      return;
    }
    this.parse();
  }

  private onEnd(): void {
    this.peerEnded = true;
    // A half-closed client still gets the answer to what it sent (parse ends the socket once that is written).
    if (this.current === undefined && !this.waitingForDrain) this.parse();
  }

  private onDrain(): void {
    if (!this.waitingForDrain) return;
    this.waitingForDrain = false;
    this.socket.resume();
    this.parse();
  }

  private onClose(): void {
    this.closing = true;
    clearTimeout(this.lingerTimer);
    if (this.current) this.current.responded = true;
    this.server.forget(this);
  }

  /** Parses and dispatches as many complete requests as the input holds, one at a time. */
  private parse(): void {
    // A handler that answers synchronously calls back into respond, which would parse the next pipelined request
    // from inside this loop: the loop carries on instead.
    if (this.parsing) return;
    this.parsing = true;
    try {
      while (!this.closing && this.current === undefined && !this.waitingForDrain && this.inputBytes > 0) {
        if (this.head === undefined && !this.readHead()) break;
        if (!this.readBody()) break;
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.fail(error.status, error.message);
      return;
    } finally {
      this.parsing = false;
    }
    if (this.current !== undefined || this.closing || this.waitingForDrain) return;
    if (this.inputBytes === 0 && this.head === undefined) {
      this.requestStartedAt = 0;
      if (this.peerEnded) this.endGracefully();
    } else if (this.peerEnded) {
      this.fail(400, 'the client closed its side before the request was complete');
    }
  }

  /** True once a head is parsed (this.head set); false when more bytes are needed. */
  private readHead(): boolean {
    let buffer = this.contiguous();
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    let skip = 0;
    while (skip + 1 < buffer.length && buffer[skip] === 13 && buffer[skip + 1] === 10) skip += 2;
    if (skip > 0) {
      buffer = this.consume(skip);
      this.headSearchFrom = 0;
      if (buffer.length === 0) return false;
    }
    const end = buffer.indexOf(CRLF_CRLF, this.headSearchFrom);
    const max = this.server.maxHeaderBytes;
    if (end === -1) {
      if (buffer.length > max) throw new HttpError(431, `request head larger than ${max} bytes`);
      // A head ended by bare LFs would never match CRLF CRLF: refuse it now rather than at the request timeout.
      for (let lf = buffer.indexOf(10); lf !== -1; lf = buffer.indexOf(10, lf + 1))
        if (lf === 0 || buffer[lf - 1] !== 13) throw new HttpError(400, 'bare LF in request head');
      this.headSearchFrom = Math.max(0, buffer.length - 3);
      return false;
    }
    if (end + 4 > max) throw new HttpError(431, `request head larger than ${max} bytes`);
    const head = parseHead(buffer.toString('latin1', 0, end), this.server.maxHeaders);
    this.consume(end + 4);
    this.headSearchFrom = 0;
    if (head.contentLength > this.server.maxBodyBytes)
      throw new HttpError(413, `body larger than ${this.server.maxBodyBytes} bytes`);
    if (head.contentLength === -1)
      this.chunked = new ChunkedDecoder(this.server.maxBodyBytes, this.server.maxHeaderBytes);
    this.head = head;
    // RFC 9110 §10.1.1: the client waits for this before sending the body.
    if (head.expectContinue && head.contentLength !== 0 && this.inputBytes === 0)
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    return true;
  }

  /** True once the request is complete and dispatched; false when more bytes are needed. */
  private readBody(): boolean {
    const head = this.head!;
    let body: Buffer;
    if (head.contentLength === -1) {
      const decoder = this.chunked!;
      while (!decoder.done && this.inputBytes > 0) {
        const first = this.input[0]!;
        const used = decoder.push(first);
        if (used === first.length) {
          this.input.shift();
        } else {
          this.input[0] = first.subarray(used);
        }
        this.inputBytes -= used;
      }
      if (!decoder.done) return false;
      body = decoder.body();
      this.chunked = undefined;
    } else if (head.contentLength === 0) {
      body = EMPTY;
    } else {
      if (this.inputBytes < head.contentLength) return false;
      body = this.take(head.contentLength);
    }
    this.head = undefined;
    this.requestStartedAt = this.inputBytes > 0 ? Date.now() : 0;
    const request = new Http1Request(this, head.method, head.target, head.headers, body, head.keepAlive);
    this.current = request;
    this.server.dispatch(request);
    return true;
  }

  /** The input as one Buffer (heads are small; bodies are taken with `take`, which copies once). */
  private contiguous(): Buffer {
    if (this.input.length > 1) this.input = [Buffer.concat(this.input, this.inputBytes)];
    return this.input[0] ?? EMPTY;
  }

  /** Drops `n` bytes from the front of the input; returns what remains (contiguous). */
  private consume(n: number): Buffer {
    const rest = this.contiguous().subarray(n);
    this.input = rest.length > 0 ? [rest] : [];
    this.inputBytes = rest.length;
    return rest;
  }

  /** Removes and returns the first `n` bytes of the input. */
  private take(n: number): Buffer {
    const first = this.input[0]!;
    if (first.length >= n) {
      const taken = first.subarray(0, n);
      if (first.length === n) this.input.shift();
      else this.input[0] = first.subarray(n);
      this.inputBytes -= n;
      return taken;
    }
    const all = this.contiguous();
    const taken = all.subarray(0, n);
    this.consume(n);
    return taken;
  }

  respond(request: Http1Request, status: number, body: string | readonly string[]): void {
    if (this.closing || request !== this.current) return;
    this.current = undefined;
    this.lastActivity = Date.now();
    const close = !request.keepAlive || this.server.draining || (this.peerEnded && this.inputBytes === 0);
    let written: boolean;
    // RFC 9110 §9.3.2: a response to HEAD has the headers GET would have, and no content.
    if (typeof body === 'string') {
      const head = responseHead(status, Buffer.byteLength(body), close, this.server);
      written = this.socket.write(request.method === 'HEAD' ? head : head + body);
    } else {
      let length = 0;
      for (const piece of body) length += Buffer.byteLength(piece);
      // Corked: the head and the pieces leave in one writev.
      this.socket.cork();
      written = this.socket.write(responseHead(status, length, close, this.server));
      if (request.method !== 'HEAD') for (const piece of body) written = this.socket.write(piece);
      this.socket.uncork();
    }
    if (close) {
      this.endGracefully();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (!written) {
      // The client is not reading its answers: stop parsing until it does.
      this.waitingForDrain = true;
      return;
    }
    this.parse();
  }

  /** Framing error: answer, stop reading and close. */
  fail(status: number, message: string): void {
    if (this.closing) return;
    this.closing = true;
    if (this.current) this.current.responded = true;
    const body = this.server.errorBody(status, message);
    this.input = [];
    this.inputBytes = 0;
    this.endGracefully(responseHead(status, Buffer.byteLength(body), true, this.server) + body);
  }

  /**
   * RFC 9112 §9.6: half-close, keep reading (and discarding) for a while, then close. Closing with unread input makes
   * the kernel answer with a reset, which can destroy the response before the client has read it (a 413 during an
   * upload, say).
   */
  private endGracefully(last?: string): void {
    this.closing = true;
    if (this.socket.isPaused()) this.socket.resume();
    if (last === undefined) this.socket.end();
    else this.socket.end(last);
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Graceful shutdown: idle connections close now; busy ones after their response (which says so). */
  closeIfIdle(): void {
    if (this.idle && !this.closing) {
      this.closing = true;
      this.socket.destroy();
    }
  }
}

function responseHead(status: number, length: number, close: boolean, server: Http1Server): string {
  return (
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n` +
    `date: ${server.date()}\r\n${close ? 'connection: close' : server.keepAliveHeaders}\r\n\r\n`
  );
}

export class Http1Server {
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  /** A paused connection may hold this much unparsed input (one largest request) before its socket stops reading. */
  readonly maxRequestBytes: number;
  readonly keepAliveHeaders: string;
  readonly errorBody: (status: number, message: string) => string;
  draining = false;
  private readonly handler: (request: Http1Request) => void;
  private readonly keepAliveTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly sweeper: NodeJS.Timeout;
  private cachedDate = '';
  private cachedSecond = -1;
  private allClosed: (() => void) | undefined;

  constructor(options: Http1ServerOptions) {
    this.handler = options.handler;
    this.maxBodyBytes = options.maxBodyBytes;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.maxHeaders = options.maxHeaders ?? 100;
    this.maxRequestBytes = this.maxBodyBytes + this.maxHeaderBytes;
    this.keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 65_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.errorBody = options.errorBody;
    this.keepAliveHeaders = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(this.keepAliveTimeoutMs / 1000)}`;
    // noDelay: a response is one write and must leave at once. allowHalfOpen: a client that ends its side after
    // sending still gets its answer.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      this.connections.add(new Connection(this, socket));
    });
    // One timer for every connection's timeouts, rather than re-arming a timer per socket on every request.
    const period = Math.max(25, Math.min(5_000, Math.min(this.keepAliveTimeoutMs, this.requestTimeoutMs) / 4));
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  /** @internal */
  dispatch(request: Http1Request): void {
    try {
      this.handler(request);
    } catch {
      // The handler owns its errors; one that escapes must not take the process down.
      request.respond(500, this.errorBody(500, 'internal error'));
    }
  }

  /** @internal */
  forget(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.allClosed?.();
  }

  /** IMF-fixdate (RFC 9110 §5.6.7), formatted once per second. */
  date(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      this.cachedDate = new Date(now).toUTCString();
    }
    return this.cachedDate;
  }

  private sweep(): void {
    const now = Date.now();
    for (const connection of this.connections) {
      if (connection.busy) continue;
      if (connection.requestStartedAt !== 0) {
        if (now - connection.requestStartedAt > this.requestTimeoutMs)
          connection.fail(408, `request not received within ${this.requestTimeoutMs} ms`);
      } else if (now - connection.lastActivity > this.keepAliveTimeoutMs) {
        connection.socket.destroy();
      }
    }
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting; idle connections close now, busy ones after their response; after `graceMs`, every one. */
  async close(graceMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.sweeper);
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.closeIfIdle();
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.allClosed = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      for (const connection of this.connections) connection.socket.destroy();
    }
    await listening;
  }
}
