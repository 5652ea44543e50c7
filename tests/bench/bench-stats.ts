/** Small statistics helpers shared by the broker benchmarks. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (samples: number[]) => percentile(samples, 50);

export function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${fmt(sorted[0]!)} / ${fmt(median(sorted))} / ${fmt(sorted.at(-1)!)}`;
}

export const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
