import { DekPrewrapper } from '../../src/prewrap.js';
import { leasedKeyObject, randomKey32 } from '../../src/leased-crypto.js';

// A host where no thread can be started (a sandbox, a thread limit): new Worker throws.
jest.mock('node:worker_threads', () => ({
  Worker: jest.fn(() => {
    throw Object.assign(new Error('Unable to create a worker'), { code: 'ERR_WORKER_INIT_FAILED' });
  }),
}));

test('when the worker cannot start, wraps go inline: no error reaches the request, and the budget is untouched', () => {
  const warnings: string[] = [];
  const logger = { warn: (_: unknown, message: string) => warnings.push(message) };
  const prewrapper = new DekPrewrapper(1000, logger as never);
  const pool = prewrapper.open(leasedKeyObject(randomKey32()));
  expect(() => pool.take()).not.toThrow();
  expect(pool.take()).toBeUndefined();
  expect(prewrapper.pooledCount).toBe(0);
  expect(prewrapper.served.inline).toBe(2);
  expect(warnings).toEqual(['prewrap worker could not start; wrapping inline']);
});
