import { KmsError } from '../errors.js';
import type { KmsCallObserver, KmsCallPolicy, KmsProvider } from './types.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one KMS operation under the adapter's policy: a single deadline for all attempts (KMS_TIMEOUT_MS), at most
 * `maxAttempts` attempts, retrying only throttling, outages and timeouts, with "full jitter" exponential backoff
 * (a random delay in [0, base·2^n]) so many replicas do not retry in lockstep. SDK retries are disabled so this is
 * the only retry loop.
 */
export async function callWithPolicy<T>(
  provider: KmsProvider,
  operation: 'wrap' | 'unwrap',
  policy: KmsCallPolicy,
  observe: KmsCallObserver,
  classify: (error: unknown) => KmsError,
  attempt: (abort: AttemptAbort) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + policy.timeoutMs;
  let lastError: KmsError | undefined;
  for (let attemptNumber = 0; attemptNumber < policy.maxAttempts; attemptNumber++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const abort = new AttemptAbort();
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    try {
      const result = await Promise.race([
        attempt(abort),
        new Promise<never>((_, reject) => {
          // Some SDK calls ignore abort while connecting; the race guarantees the deadline regardless.
          timer = setTimeout(() => {
            abort.abort();
            reject(new KmsError('Timeout', `no answer within ${policy.timeoutMs} ms`));
          }, remaining);
        }),
      ]);
      observe(provider, operation, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      lastError = error instanceof KmsError ? error : classify(error);
      observe(provider, operation, lastError.kind, (performance.now() - started) / 1000);
      if (!lastError.retryable || lastError.kind === 'Timeout') throw lastError;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (attemptNumber + 1 < policy.maxAttempts) {
      const backoff = Math.random() * policy.retryBaseMs * 2 ** attemptNumber;
      const delay = Math.max(backoff, Math.min(lastError.retryAfterMs ?? 0, 2000));
      if (Date.now() + delay >= deadline) break;
      await sleep(delay);
    }
  }
  throw lastError ?? new KmsError('Timeout', `no answer within ${policy.timeoutMs} ms`);
}

/**
 * One attempt's abort signal, made only if the attempt asks for it: an AbortSignal is an EventTarget, and at 100
 * concurrent KMS calls it outlives young-generation GCs, so adapters that cut hung requests off another way (AWS:
 * the request handler's timeout) should not pay for one.
 */
export class AttemptAbort {
  private controller: AbortController | undefined;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/** Errors from sockets rather than from the service: the KMS is unreachable. */
export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    typeof code === 'string' &&
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ETIMEDOUT',
      'EPIPE',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'UND_ERR_SOCKET',
      'REQUEST_SEND_ERROR',
    ].includes(code)
  );
}

export function isAbortError(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

export function describe(error: unknown): string {
  const message = (error as { message?: unknown })?.message;
  return typeof message === 'string' && message.length > 0 ? message.slice(0, 300) : String(error).slice(0, 300);
}
