import { KmsError } from '../../src/errors.js';
import { AttemptAbort, callWithPolicy } from '../../src/kms/retry.js';
import type { KmsCallPolicy } from '../../src/kms/types.js';

const policy: KmsCallPolicy = { timeoutMs: 150, maxAttempts: 3, retryBaseMs: 5, extraCa: undefined };
const classify = (error: unknown) => (error instanceof KmsError ? error : new KmsError('Unknown', String(error)));

test('an attempt that never answers is cut off at the deadline, and the signal it asked for is aborted', async () => {
  const outcomes: string[] = [];
  let seen: AbortSignal | undefined;
  const started = Date.now();
  const call = callWithPolicy(
    'azure',
    'wrap',
    policy,
    (_p, _o, outcome) => outcomes.push(outcome),
    classify,
    (abort) => {
      seen = abort.signal;
      return new Promise<never>(() => undefined);
    },
  );
  await expect(call).rejects.toMatchObject({ kind: 'Timeout' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  expect(Date.now() - started).toBeLessThan(1000);
  expect(seen?.aborted).toBe(true);
  // A timeout is not retried: the deadline covers every attempt.
  expect(outcomes).toEqual(['Timeout']);
});

test('a signal first asked for after the deadline is already aborted', async () => {
  const late: AbortSignal[] = [];
  const call = callWithPolicy(
    'azure',
    'unwrap',
    policy,
    () => undefined,
    classify,
    (abort) => new Promise<never>(() => setTimeout(() => late.push(abort.signal), 200)),
  );
  await expect(call).rejects.toMatchObject({ kind: 'Timeout' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(late).toHaveLength(1);
  expect(late[0]!.aborted).toBe(true);
});

test('AttemptAbort makes no AbortController until its signal is asked for', () => {
  const unused = new AttemptAbort();
  unused.abort();
  expect((unused as unknown as { controller?: AbortController }).controller).toBeUndefined();
  const used = new AttemptAbort();
  const signal = used.signal;
  expect(signal.aborted).toBe(false);
  expect(used.signal).toBe(signal);
  used.abort();
  expect(signal.aborted).toBe(true);
});

test('throttling is retried up to maxAttempts; a denial is not retried', async () => {
  const awsWrap = <T>(attempt: () => Promise<T>) =>
    callWithPolicy('aws', 'wrap', policy, () => undefined, classify, attempt);
  let attempts = 0;
  const throttled = awsWrap(async () => {
    attempts++;
    throw new KmsError('Throttled', 'slow down');
  });
  await expect(throttled).rejects.toMatchObject({ kind: 'Throttled' });
  expect(attempts).toBe(3);
  attempts = 0;
  const denied = awsWrap(async () => {
    attempts++;
    throw new KmsError('AccessDenied', 'no');
  });
  await expect(denied).rejects.toMatchObject({ kind: 'AccessDenied' });
  expect(attempts).toBe(1);
  attempts = 0;
  const recovered = await awsWrap(async () => {
    if (++attempts < 2) throw new KmsError('Unavailable', 'blip');
    return 'ok';
  });
  expect(recovered).toBe('ok');
  expect(attempts).toBe(2);
});
