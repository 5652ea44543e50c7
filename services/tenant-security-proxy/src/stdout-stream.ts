// sonic-boom is CommonJS: the class is a property of its module object.
import sonicBoom from 'sonic-boom';

const { SonicBoom } = sonicBoom;

/** Bytes that may wait for a slow reader of stdout before writes are dropped (and counted by their callers). */
export const DEFAULT_STDOUT_BACKLOG_BYTES = 32 * 1024 * 1024;
/** The most one write(2) carries. */
const MAX_WRITE_BYTES = 4 * 1024 * 1024;

/**
 * Standard output that never blocks the event loop. Node writes `process.stdout` synchronously when it is a file
 * or a pipe, so a slow log collector (or a disk under write-back) would stall every key request behind a security
 * event or a log line. Here writes are appended to a buffer and handed to libuv's thread pool (sonic-boom), and a
 * backlog past `maxBytes` is dropped rather than grown: `write` answers false and the caller counts the loss.
 *
 * Logs and stdout security events share one instance, so their lines never interleave.
 */
export class StdoutStream {
  private readonly destination: InstanceType<typeof SonicBoom>;
  private dropped = false;
  private broken = false;
  /** Bytes accepted and not yet written (sonic-boom reports each completed write). */
  private pending = 0;

  constructor(fd = 1, maxBytes = DEFAULT_STDOUT_BACKLOG_BYTES) {
    // Buffers, not strings: the backlog lives outside the V8 heap (no copying and promotion of megabytes of event
    // lines under load), and each write takes everything pending, up to MAX_WRITE_BYTES. With sonic-boom's default of
    // 16 KiB, and one write completing per event-loop turn, a turn that queued more (a 1,000-key batch's events) grew
    // the backlog until lines were dropped.
    this.destination = new SonicBoom({
      fd,
      sync: false,
      maxLength: maxBytes,
      maxWrite: MAX_WRITE_BYTES,
      contentMode: 'buffer',
    });
    this.destination.on('drop', () => {
      this.dropped = true;
    });
    this.destination.on('write', (bytes: number) => {
      this.pending -= bytes;
    });
    // EPIPE and the like: the reader went away. Nothing can be written any more, and that must not crash the proxy.
    this.destination.on('error', () => {
      this.broken = true;
    });
  }

  /**
   * False when the text was dropped: the backlog is full or stdout is gone. Every writer (the logger too) comes here:
   * sonic-boom in buffer mode must never be handed a string.
   */
  write(text: string): boolean {
    if (this.broken) return false;
    this.dropped = false;
    const bytes = Buffer.from(text, 'utf8');
    // In buffer mode sonic-boom's typings still say string.
    this.destination.write(bytes as unknown as string);
    if (this.dropped) return false;
    this.pending += bytes.length;
    return !this.broken;
  }

  get pendingBytes(): number {
    return this.broken ? 0 : this.pending;
  }

  /**
   * Before the process exits: waits (up to `timeoutMs`) for the asynchronous writes to finish. Waiting rather than
   * writing synchronously keeps the order of lines: a synchronous write would overtake a write still in flight.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pendingBytes > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return this.pendingBytes === 0;
  }

  /** Start-up failures: nothing is in flight yet, so a synchronous write is safe and cannot be lost. */
  flushSync(): void {
    if (this.broken) return;
    try {
      this.destination.flushSync();
    } catch {
      // stdout closed underneath us: nothing left to do.
    }
  }
}

let shared: StdoutStream | undefined;

/** The process-wide stdout stream (one writer for fd 1, shared by the logger and the stdout event sink). */
export function sharedStdout(): StdoutStream {
  shared ??= new StdoutStream();
  return shared;
}
