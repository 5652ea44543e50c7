import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const PROXY_DIR = join(__dirname, '..', '..');

export interface ProxyProcess {
  url: string;
  healthUrl: string;
  child: ChildProcess;
  /** Parsed JSON lines of stdout: pino logs and stdout security events. */
  lines: Record<string, unknown>[];
  stderr: string[];
  securityEvents(): Record<string, unknown>[];
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the proxy as its own process, from source through tsx (so the test always runs the current code), the way
 * the one-command stack runs `node dist/main.js`: configuration from the environment only.
 */
export async function spawnProxy(env: Record<string, string>, timeoutMs = 20_000): Promise<ProxyProcess> {
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    // Never let an SDK's default chain probe instance metadata (link-local addresses are off-limits here).
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    ...env,
    // The harness reads the start line (ports) and security events from stdout.
    LOG_LEVEL: 'info',
  };
  // (Typed loosely: the broker's tests, which also start the proxy, see Next.js's stricter ProcessEnv.)
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROXY_DIR, 'src', 'main.ts')], {
    cwd: PROXY_DIR,
    env: childEnv as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ raw: text });
      }
    }
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean, waitMs = 10_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find(predicate);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `proxy output did not show the expected line within ${waitMs} ms; stderr: ${stderr.join('').slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`,
          ),
        );
      }, waitMs);
      const onExit = () => {
        cleanup();
        reject(new Error(`proxy exited; stderr: ${stderr.join('').slice(-2000)}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });

  const started = await waitForLine((line) => line.msg === 'tenant security proxy started', timeoutMs);
  return {
    url: `http://127.0.0.1:${started.port as number}`,
    healthUrl: `http://127.0.0.1:${started.healthPort as number}`,
    child,
    lines,
    stderr,
    securityEvents: () => lines.filter((line) => line.type === 'security_event'),
    waitForLine,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `/ready` until it answers 200. */
/**
 * POSTs to a TSP route (`/api/1/<route>`) as a raw client would: `body` as JSON (a string is sent as is), the API
 * key as `cmk <key>` (null: no header). The answer's JSON, or its text when it is not JSON.
 */
export async function callProxy(
  baseUrl: string,
  route: string,
  body: unknown,
  apiKey: string | null,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}/api/1/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey === null ? {} : { authorization: `cmk ${apiKey}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, json: JSON.parse(text) };
  } catch {
    return { status: response.status, json: text };
  }
}

export async function waitForReady(healthUrl: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${healthUrl}/ready`).catch(() => undefined);
    if (response?.status === 200) return;
    if (Date.now() > deadline) throw new Error('proxy did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
