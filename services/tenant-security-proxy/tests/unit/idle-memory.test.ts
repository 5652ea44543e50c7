import { runInNewContext } from 'node:vm';
import { exposeGc, IdleMemoryReducer, type HeapFootprint } from '../../src/idle-memory.js';

const MiB = 1024 * 1024;

/** A reducer driven by hand: the test sets the heap and the event loop's load, and fires the scheduled second GC. */
function harness(start: HeapFootprint = { totalBytes: 60 * MiB, youngBytes: 2 * MiB }) {
  const state = { heap: { ...start }, utilization: 0 };
  const collections: string[] = [];
  const scheduled: { run: () => void; ms: number; cancelled: boolean }[] = [];
  const reducer = new IdleMemoryReducer({
    intervalMs: 1000,
    footprint: () => ({ ...state.heap }),
    utilization: () => state.utilization,
    schedule: (run, ms) => {
      const entry = { run, ms, cancelled: false };
      scheduled.push(entry);
      return () => (entry.cancelled = true);
    },
    // A collection gives back what the load grew, as V8's does: the young generation only in the second one.
    collect: () => {
      const second = collections.length % 2 === 1;
      collections.push(second ? 'young' : 'grown');
      if (second) {
        state.heap.totalBytes -= state.heap.youngBytes - MiB;
        state.heap.youngBytes = MiB;
      } else {
        state.heap.totalBytes = 50 * MiB + state.heap.youngBytes;
      }
    },
  });
  /** The timer V8's allocation-rate window waits for, fired now (unless it was cancelled). */
  const fireSecond = () => {
    const entry = scheduled.shift();
    if (entry && !entry.cancelled) entry.run();
    return entry;
  };
  return { state, collections, reducer, scheduled, fireSecond };
}

test('busy windows never collect, however much the heap grew', () => {
  const { state, collections, reducer } = harness();
  state.heap = { totalBytes: 300 * MiB, youngBytes: 32 * MiB };
  for (const utilization of [0.9, 0.3, 0.06]) {
    state.utilization = utilization;
    reducer.tick();
  }
  expect(collections).toEqual([]);
});

test('idle with no growth to speak of: nothing to give back, no collection', () => {
  const { state, collections, reducer } = harness();
  state.heap.totalBytes += 15 * MiB;
  for (let i = 0; i < 5; i++) reducer.tick();
  expect(collections).toEqual([]);
});

test('after a load: one collection in the first idle window, one more 5.2 s later for the young generation, then none', () => {
  const { state, collections, reducer, scheduled, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  state.utilization = 0.8;
  reducer.tick();
  state.utilization = 0.01;
  reducer.tick();
  expect(collections).toEqual(['grown']);
  // V8 shrinks the young generation only when its last 5 s of allocation were quiet.
  expect(scheduled.map((entry) => entry.ms)).toEqual([5200]);
  reducer.tick();
  expect(collections).toEqual(['grown']);
  fireSecond();
  expect(collections).toEqual(['grown', 'young']);
  expect(state.heap).toEqual({ totalBytes: 51 * MiB, youngBytes: MiB });
  for (let i = 0; i < 5; i++) reducer.tick();
  expect(collections).toHaveLength(2);
  expect(reducer.collections).toBe(2);
  // The next load arms it again.
  state.heap = { totalBytes: 120 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  expect(collections).toHaveLength(3);
});

test('load resuming between the two collections cancels the second', () => {
  const { state, collections, reducer, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  state.utilization = 0.5;
  reducer.tick();
  expect(fireSecond()?.cancelled).toBe(true);
  state.utilization = 0;
  reducer.tick();
  // The heap the collection left is the new baseline: the cancelled second one is not owed any more.
  expect(collections).toEqual(['grown']);
});

test('stop() cancels a pending second collection', () => {
  const { state, reducer, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  reducer.stop();
  expect(fireSecond()?.cancelled).toBe(true);
});

test('exposeGc: a working gc() without --expose-gc, and no gc global left for contexts made later', async () => {
  const gc = exposeGc();
  expect(typeof gc).toBe('function');
  let target: object | undefined = { payload: new Array(1000).fill('x') };
  const ref = new WeakRef(target);
  target = undefined;
  // WeakRef targets are kept until the end of the current job (ECMA-262 §9.10 ClearKeptObjects).
  await new Promise((resolve) => setImmediate(resolve));
  gc!();
  expect(ref.deref()).toBeUndefined();
  expect(runInNewContext('typeof gc')).toBe('undefined');
});
