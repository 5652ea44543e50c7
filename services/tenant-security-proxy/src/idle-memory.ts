import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './logger.js';

/** Committed (resident) V8 heap: all spaces, and the young generation alone. */
export interface HeapFootprint {
  totalBytes: number;
  youngBytes: number;
}

export interface IdleMemoryReducerOptions {
  /** Length of the window judged idle or busy. */
  intervalMs: number;
  /** A full, synchronous garbage collection. */
  collect: () => void;
  footprint?: () => HeapFootprint;
  /** Starts measuring the event loop; the returned function gives the share of time since then it was busy, 0–1. */
  measureUtilization?: () => () => number;
  /** Runs `run` once after `ms` (default: an unref'd setTimeout); returns its cancel. */
  schedule?: (run: () => void, ms: number) => () => void;
  onCollect?: (collection: {
    reason: CollectionReason;
    before: HeapFootprint;
    after: HeapFootprint;
    ms: number;
  }) => void;
}

/** Why a collection ran: the heap grew during a load, the young generation stayed large, or the first snapshot. */
export type CollectionReason = 'grown' | 'young' | 'loaded';

/** Busier than this over a whole window is load: 5 % of a window is 500 requests/s at 100 µs each. */
const IDLE_UTILIZATION = 0.05;
/** Growth of the committed heap since the last idle collection that is worth one. */
const GROWTH_BYTES = 16 * 1024 * 1024;
/** A young generation larger than this after the first collection gets the second one, which shrinks it. */
const YOUNG_SHRINK_BYTES = 4 * 1024 * 1024;
/**
 * V8 shrinks the young generation in a GC only when the allocation rate it measured since the previous GC, over at
 * least 5 s (its GC tracer's throughput time frame), is low; an earlier second collection would also average in the
 * load before the first. Hence a little over 5 s.
 */
const YOUNG_SHRINK_DELAY_MS = 5200;

/**
 * Gives memory back once the load stops. V8 grows its heap under load and keeps it: the old generation may grow
 * severalfold between full GCs, and the young generation stays at its maximum (32 MiB) once grown. In Chrome the
 * embedder tells V8 when a tab goes idle and V8 collects then; Node never does, so after a burst the proxy would sit
 * at its peak footprint until the next burst. Here, after a window in which the event loop was idle and the heap had
 * grown by 16 MiB since the last time, one full GC that gives the pages back runs (exposeGc; tens of ms, at a time
 * nobody waits), and 5.2 s later, if the event loop stayed idle meanwhile and V8 has not already shrunk it, a second
 * one for the young generation. Busy windows never collect, so the load itself pays nothing.
 */
export class IdleMemoryReducer {
  private readonly footprint: () => HeapFootprint;
  private readonly measureUtilization: () => () => number;
  private window: () => number;
  private readonly schedule: (run: () => void, ms: number) => () => void;
  private baseline: HeapFootprint;
  private cancelYoungShrink: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  collections = 0;

  constructor(private readonly options: IdleMemoryReducerOptions) {
    this.footprint = options.footprint ?? heapFootprint;
    this.measureUtilization = options.measureUtilization ?? measureEventLoopUtilization;
    this.window = this.measureUtilization();
    this.schedule =
      options.schedule ??
      ((run, ms) => {
        const timeout = setTimeout(run, ms).unref();
        return () => clearTimeout(timeout);
      });
    this.baseline = this.footprint();
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.cancelYoungShrink?.();
    this.cancelYoungShrink = undefined;
  }

  /** One window: public for tests, which drive it with fakes instead of waiting. */
  tick(): void {
    const busy = this.window() > IDLE_UTILIZATION;
    this.window = this.measureUtilization();
    if (busy || this.cancelYoungShrink) return;
    const heap = this.footprint();
    if (heap.totalBytes - this.baseline.totalBytes < GROWTH_BYTES) return;
    this.run('grown', heap);
    this.baseline = this.footprint();
    // Judged over the whole delay, not window by window: a scrape or a few requests in between are not load.
    const since = this.measureUtilization();
    this.cancelYoungShrink = this.schedule(() => {
      this.cancelYoungShrink = undefined;
      const now = this.footprint();
      if (since() <= IDLE_UTILIZATION && now.youngBytes > YOUNG_SHRINK_BYTES) this.run('young', now);
      this.baseline = this.footprint();
    }, YOUNG_SHRINK_DELAY_MS);
  }

  /**
   * One collection now, whatever the event loop is doing: for the moment the first snapshot is loaded, before the
   * proxy reports ready and so before any request can wait on it. Parsing 10,000 tenants' snapshot leaves its
   * garbage and a young generation grown to its maximum; without this, they would stay until the first idle window.
   */
  collectNow(): void {
    this.run('loaded', this.footprint());
    this.baseline = this.footprint();
  }

  private run(reason: CollectionReason, before: HeapFootprint): void {
    const started = performance.now();
    this.options.collect();
    this.collections++;
    this.options.onCollect?.({ reason, before, after: this.footprint(), ms: performance.now() - started });
  }
}

function heapFootprint(): HeapFootprint {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return { totalBytes: getHeapStatistics().total_physical_size, youngBytes: young?.physical_space_size ?? 0 };
}

function measureEventLoopUtilization(): () => number {
  const start: EventLoopUtilization = performance.eventLoopUtilization();
  return () => performance.eventLoopUtilization(start).utilization;
}

/**
 * V8 12 (Node 22) and later keep the pages a full GC frees in a pool of their own, and give the pool back to the
 * system only in a GC asked to reduce memory. A plain or compacting `gc()` there leaves RSS where the load took it
 * (Node 24: 449 MB after a compacting GC that left 147 MB of heap), so the reducer asks for V8's last-resort
 * collection instead: full GCs until nothing more is freed, compacting, the pool released and the young generation
 * shrunk (77 MB RSS, 116 ms). V8 11 (Node 20) does not know that flavor and runs a scavenge for it; its full GCs
 * return freed pages themselves, so there the compacting GC below is enough.
 */
const LAST_RESORT_GC = Number(process.versions.v8.split('.')[0]) >= 12;

/**
 * A full GC that gives memory back, for the reducer. V8's `gc()` comes without starting node with --expose-gc: the
 * flag only installs the function in contexts created after it is set, so it is set, one throwaway context made, and
 * the flag cleared again (what Jest does for --logHeapUsage), so no other context, the prewrap worker's included,
 * sees a `gc` global. On V8 11, a plain full GC frees the garbage but moves little, so the old generation's pages stay
 * committed, each holding some live objects: after the benchmark's load it took the heap from 113 to 65 MiB
 * committed with 33 MiB live. With --compact-on-every-full-gc set for that one collection, V8 evacuates every page:
 * 130 to 35 MiB, in 61 ms instead of 31.
 */
export function exposeGc(logger?: Logger): (() => void) | undefined {
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch (error) {
      logger?.warn({ err: { message: (error as Error).message } }, 'no gc() to be had: memory is not returned at idle');
      return undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
    if (typeof gc !== 'function') return undefined;
  }
  const collect = gc as (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  if (LAST_RESORT_GC) return () => collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return () => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      collect();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}
