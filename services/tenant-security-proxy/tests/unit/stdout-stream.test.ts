import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/logger.js';
import { StdoutStream } from '../../src/stdout-stream.js';
import { StdoutSink, SinkError } from '../../src/events/sinks.js';
import { queuedEvent } from '../../src/events/types.js';

/**
 * A reader on the far end of a pipe that starts reading only after `delayMs` and reports how many bytes it got.
 * Its stdin is the pipe the stream under test writes to.
 */
function slowReader(delayMs: number) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `let n = 0; setTimeout(() => { process.stdin.on('data', (c) => (n += c.length)); process.stdin.on('end', () => process.stdout.write(String(n))); }, ${delayMs});`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const received = new Promise<number>((resolve) => child.once('exit', () => resolve(Number(out))));
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  return { child, fd, received };
}

describe('StdoutStream', () => {
  it('returns at once while nobody reads, drops past its backlog, and delivers everything it accepted', async () => {
    const reader = slowReader(300);
    const stream = new StdoutStream(reader.fd, 256 * 1024);
    const line = `${'x'.repeat(1023)}\n`;
    let accepted = 0;
    let dropped = 0;
    const started = performance.now();
    for (let i = 0; i < 2048; i++) {
      if (stream.write(line)) accepted += line.length;
      else dropped++;
    }
    // 2 MiB offered to a pipe that holds 64 KiB and a reader that is asleep: a blocking write would wait 300 ms.
    expect(performance.now() - started).toBeLessThan(250);
    expect(dropped).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThanOrEqual(256 * 1024 - line.length);
    expect(stream.pendingBytes).toBe(accepted);
    expect(await stream.drain(10_000)).toBe(true);
    reader.child.stdin.end();
    expect(await reader.received).toBe(accepted);
  });

  it('answers false instead of throwing once the reader is gone', async () => {
    const reader = slowReader(0);
    const stream = new StdoutStream(reader.fd, 1024 * 1024);
    reader.child.kill('SIGKILL');
    await reader.received;
    let result = true;
    for (let i = 0; i < 50 && result; i++) {
      result = stream.write('after the reader died\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(result).toBe(false);
    expect(() => stream.flushSync()).not.toThrow();
  });
});

describe('StdoutSink', () => {
  const event = queuedEvent({
    tenantId: 't1',
    event: 'KMS_WRAP',
    timestampMillis: Date.UTC(2026, 10, 22, 12, 0, 0, 7),
    source: 'proxy',
    iclFields: { requestingId: 'r1' },
    customFields: {},
    kmsConfigId: 3,
    leased: true,
    code: 0,
  });

  it('writes one JSON line per event in one write', async () => {
    const writes: string[] = [];
    await new StdoutSink((text) => (writes.push(text), true)).deliver([event, event]);
    expect(writes).toHaveLength(1);
    const lines = writes[0]!
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ type: 'security_event', tenantId: 't1', event: 'KMS_WRAP', kmsConfigId: 3 });
    expect(lines[0]!.timestamp).toBe('2026-11-22T12:00:00.007Z');
  });

  it('splits a large batch into writes of whole lines, each under 64 Ki characters', async () => {
    const writes: string[] = [];
    await new StdoutSink((text) => (writes.push(text), true)).deliver(Array.from({ length: 500 }, () => event));
    expect(writes.length).toBeGreaterThan(1);
    for (const text of writes) {
      expect(text.length).toBeLessThan(64 * 1024);
      expect(text.endsWith('\n')).toBe(true);
    }
    expect(writes.join('').trimEnd().split('\n')).toHaveLength(500);
  });

  it('reports a full backlog as a non-retryable sink error, so the pipeline counts the events as dropped', async () => {
    const failure = await new StdoutSink(() => false).deliver([event]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SinkError);
    expect((failure as SinkError).retryable).toBe(false);
  });
  it('keeps up with many writes per event-loop turn while each turn is busy: one file write carries them all', async () => {
    // The proxy under batch load: every turn runs a 1,000-key batch (milliseconds of work) and then hands its events
    // over in several writes. If each completed file write took only one of those writes, the backlog would grow by
    // the rest every turn until lines were dropped.
    const dir = mkdtempSync(join(tmpdir(), 'stdout-stream-'));
    const fd = openSync(join(dir, 'out.log'), 'w');
    const stream = new StdoutStream(fd, 4 * 1024 * 1024);
    const text = `${'y'.repeat(20 * 1024 - 1)}\n`;
    let dropped = 0;
    let offered = 0;
    for (let turn = 0; turn < 150; turn++) {
      for (let i = 0; i < 10; i++) {
        offered += text.length;
        if (!stream.write(text)) dropped++;
      }
      const busyUntil = performance.now() + 2;
      while (performance.now() < busyUntil);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await stream.drain(10_000)).toBe(true);
    expect(dropped).toBe(0);
    expect(statSync(join(dir, 'out.log')).size).toBe(offered);
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  it('takes log lines and event lines together, in order, while writes are in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stdout-stream-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const stream = new StdoutStream(fd);
    const logger = createLogger('info', stream);
    for (let i = 0; i < 200; i++) {
      expect(stream.write(`{"type":"security_event","n":${i}}\n`)).toBe(true);
      logger.info({ n: i }, 'log line');
    }
    expect(await stream.drain(5000)).toBe(true);
    closeSync(fd);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { n: number; msg?: string });
    rmSync(dir, { recursive: true, force: true });
    expect(lines).toHaveLength(400);
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 200 }, (_, i) => [i, i]).flat());
    expect(lines.filter((line) => line.msg === 'log line')).toHaveLength(200);
  });
  it('is where the default logger writes: a process logging between event lines exits cleanly with every line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stdout-stream-'));
    const script = join(dir, 'mixed-writer.mts');
    const src = join(__dirname, '..', '..', 'src');
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(join(src, 'logger.ts'))};
       import { sharedStdout } from ${JSON.stringify(join(src, 'stdout-stream.ts'))};
       const logger = createLogger('info');
       for (let i = 0; i < 200; i++) {
         sharedStdout().write('{"type":"security_event","n":' + i + '}\\n');
         logger.info({ n: i }, 'log line');
       }
       await sharedStdout().drain(5000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
    expect(err).not.toContain('TypeError');
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(400);
  });
});
