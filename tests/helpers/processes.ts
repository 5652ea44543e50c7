import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

/** Child processes for the browser, system and benchmark suites: the broker, the stack, a second proxy. */
export const repoRoot = path.resolve(__dirname, '..', '..');

/** A port that was free a moment ago (the OS picks it; nothing in the tests uses a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ManagedProcess {
  child: ChildProcess;
  /** The last 200 kB of stdout and stderr, for failure messages. */
  output(): string;
  /** SIGTERM to the whole process group; SIGKILL if it is still there after `killAfterMs`. */
  stop(): Promise<void>;
}

/** Runs `command` in its own process group (so stop() also ends what it starts), keeping its output. */
export function spawnManaged(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { killAfterMs?: number; onOutput?: (output: string) => void } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
    options.onOutput?.(output);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        resolve();
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, options.killAfterMs ?? 5000).unref();
    });
  return { child, output: () => output, stop };
}

/** spawnManaged, resolved once `ready` matches its output; rejected (and stopped) on exit or after `timeoutMs`. */
export function startProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
  timeoutMs: number,
): Promise<ManagedProcess> {
  const name = path.basename(args[0] ?? command);
  return new Promise((resolve, reject) => {
    let settled = false;
    const managed = spawnManaged(command, args, env, {
      onOutput: (output) => {
        if (!settled && ready.test(output)) {
          settled = true;
          clearTimeout(timer);
          resolve(managed);
        }
      },
    });
    const timer = setTimeout(() => {
      settled = true;
      void managed.stop();
      reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${managed.output().slice(-4000)}`));
    }, timeoutMs);
    managed.child.once('exit', (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new Error(`${name} exited with ${code}:\n${managed.output().slice(-4000)}`));
    });
  });
}
