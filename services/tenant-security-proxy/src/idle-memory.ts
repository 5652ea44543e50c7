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
  /** Share of the last window the event loop was busy, 0–1. */
  utilization?: () => number;
  /** Runs `run` once after `ms` (default: an unref'd setTimeout); returns its cancel. */
  schedule?: (run: () => void, ms: number) => () => void;
  onCollect?: (collection: {
    reason: 'grown' | 'young';
    before: HeapFootprint;
    after: HeapFootprint;
    ms: number;
  }) => void;
}

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
 * grown by 16 MiB since the last time, one full GC runs (tens of ms, at a time nobody waits), and 5.2 s later,
 * unless a busy window came in between, a second one for the young generation. Busy windows never collect, so the
 * load itself pays nothing.
 */
export class IdleMemoryReducer {
  private readonly footprint: () => HeapFootprint;
  private readonly utilization: () => number;
  private readonly schedule: (run: () => void, ms: number) => () => void;
  private baseline: HeapFootprint;
  private cancelYoungShrink: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  collections = 0;

  constructor(private readonly options: IdleMemoryReducerOptions) {
    this.footprint = options.footprint ?? heapFootprint;
    this.utilization = options.utilization ?? eventLoopUtilization();
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
    if (this.utilization() > IDLE_UTILIZATION) {
      this.cancelYoungShrink?.();
      this.cancelYoungShrink = undefined;
      return;
    }
    if (this.cancelYoungShrink) return;
    const heap = this.footprint();
    if (heap.totalBytes - this.baseline.totalBytes < GROWTH_BYTES) return;
    this.run('grown', heap);
    this.baseline = this.footprint();
    this.cancelYoungShrink = this.schedule(() => {
      this.cancelYoungShrink = undefined;
      const now = this.footprint();
      if (now.youngBytes > YOUNG_SHRINK_BYTES) this.run('young', now);
      this.baseline = this.footprint();
    }, YOUNG_SHRINK_DELAY_MS);
  }

  private run(reason: 'grown' | 'young', before: HeapFootprint): void {
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

function eventLoopUtilization(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(current, previous);
    previous = current;
    return window.utilization;
  };
}

/**
 * V8's `gc()` without starting node with --expose-gc: the flag only installs the function in contexts created after
 * it is set, so it is set, one throwaway context made, and the flag cleared again (what Jest does for
 * --logHeapUsage), so no other context, the prewrap worker's included, sees a `gc` global.
 */
export function exposeGc(logger?: Logger): (() => void) | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch (error) {
    logger?.warn({ err: { message: (error as Error).message } }, 'no gc() to be had: memory is not returned at idle');
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
