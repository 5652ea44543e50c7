import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
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
    measureUtilization: () => () => state.utilization,
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

test('load between the two collections skips the second; a scrape in one window does not', () => {
  const busy = harness();
  busy.state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  busy.reducer.tick();
  // Over the 5.2 s since the first collection, the event loop was 30 % busy: load came back.
  busy.state.utilization = 0.3;
  busy.fireSecond();
  busy.state.utilization = 0;
  busy.reducer.tick();
  // The heap the collection left is the new baseline: the skipped second one is not owed any more.
  expect(busy.collections).toEqual(['grown']);

  const scraped = harness();
  scraped.state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  scraped.reducer.tick();
  // One window in between looked busy (a scrape in a 1 s window), the 5.2 s as a whole did not.
  scraped.state.utilization = 0.2;
  scraped.reducer.tick();
  scraped.state.utilization = 0.01;
  scraped.fireSecond();
  expect(scraped.collections).toEqual(['grown', 'young']);
});

test('while the second collection is pending, growth waits for it instead of scheduling another', () => {
  const { state, collections, reducer, scheduled, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  state.heap.totalBytes += 40 * MiB;
  reducer.tick();
  expect(collections).toEqual(['grown']);
  expect(scheduled).toHaveLength(1);
  fireSecond();
  expect(collections).toEqual(['grown', 'young']);
});

test('no second collection when V8 already shrank the young generation in the first', () => {
  const { state, collections, reducer, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  state.heap = { totalBytes: 40 * MiB, youngBytes: MiB };
  fireSecond();
  expect(collections).toEqual(['grown']);
});

test('stop() cancels a pending second collection', () => {
  const { state, reducer, fireSecond } = harness();
  state.heap = { totalBytes: 200 * MiB, youngBytes: 32 * MiB };
  reducer.tick();
  reducer.stop();
  expect(fireSecond()?.cancelled).toBe(true);
});

test('collectNow: the first snapshot’s garbage goes at once, busy or not, and the next idle window measures from there', () => {
  const reasons: string[] = [];
  // Before the snapshot: the baseline the reducer starts from.
  let heap = { totalBytes: 30 * MiB, youngBytes: 2 * MiB };
  let utilization = 0.9;
  const reducer = new IdleMemoryReducer({
    intervalMs: 1000,
    footprint: () => ({ ...heap }),
    measureUtilization: () => () => utilization,
    schedule: () => () => {},
    collect: () => (heap = { totalBytes: 40 * MiB, youngBytes: MiB }),
    onCollect: ({ reason, before, after }) =>
      reasons.push(`${reason} ${before.totalBytes / MiB}→${after.totalBytes / MiB}`),
  });
  heap = { totalBytes: 180 * MiB, youngBytes: 32 * MiB };
  reducer.collectNow();
  expect(reasons).toEqual(['loaded 180→40']);
  expect(reducer.collections).toBe(1);
  // Idle, and 15 MiB above what the collection left: under the growth worth another one.
  utilization = 0;
  heap = { totalBytes: 55 * MiB, youngBytes: 8 * MiB };
  reducer.tick();
  reducer.tick();
  expect(reasons).toEqual(['loaded 180→40']);
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

test('the reducer’s collection compacts and gives the pages back: far less heap and RSS than after a plain gc()', () => {
  // In a process of its own, so this test's heap is the only one measured. Runs on whatever Node runs the tests: CI
  // runs this file on the machine's and on the image's (.ci/run), whose V8s give memory back in different ways.
  const script = `
    import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
    import { runInNewContext } from 'node:vm';
    import { setTimeout as sleep } from 'node:timers/promises';
    import { exposeGc } from ${JSON.stringify(join(__dirname, '..', '..', 'src', 'idle-memory.ts'))};
    const collect = exposeGc();
    setFlagsFromString('--expose-gc');
    const plainGc = runInNewContext('gc');
    const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    const keep = [];
    // One object in 20 outlives the rest, spread over every page.
    const fragment = () => {
      const all = [];
      for (let i = 0; i < 1000000; i++) {
        const o = { i, s: 'x'.repeat(20) + i };
        all.push(o);
        if (i % 20 === 0) keep.push(o);
      }
      return all.length;
    };
    // V8 11 unmaps freed pages on a background thread: a moment for it before RSS is read.
    fragment(); plainGc(); await sleep(500); const plain = oldSpace(); const plainRss = process.memoryUsage().rss;
    fragment(); collect(); await sleep(500); const compacted = oldSpace(); const compactedRss = process.memoryUsage().rss;
    console.log(JSON.stringify({ plain, compacted, plainRss, compactedRss, kept: keep.length }));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  const result = JSON.parse(child.stdout) as Record<
    'plain' | 'compacted' | 'plainRss' | 'compactedRss' | 'kept',
    number
  >;
  expect(result.kept).toBe(100000);
  // Twice the survivors, and still well under half the pages.
  expect(result.compacted).toBeLessThan(result.plain / 2);
  // And the system got at least half of what V8 let go (a full GC on V8 12+ only pools the pages it frees).
  expect(result.compactedRss).toBeLessThan(result.plainRss - (result.plain - result.compacted) / 2);
});
