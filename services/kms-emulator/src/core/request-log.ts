/**
 * Per-emulator request log, for assertions such as "the proxy cached the DEK: exactly one Decrypt". It records
 * routing facts only (operation, key, caller, status, fault), never bodies, tokens or signatures.
 */
export interface RequestLogEntry {
  seq: number;
  time: string;
  emulator: string;
  method: string;
  path: string;
  operation: string | null;
  keys: string[];
  principal: string | null;
  status: number | null;
  /** `answered`, or what a fault did instead: `hung` (never answered) or `reset` (socket destroyed). */
  outcome: 'answered' | 'hung' | 'reset';
  fault: string | null;
  errorCode: string | null;
  durationMs: number;
}

export interface RequestLogFilter {
  operation?: string;
  key?: string;
  principal?: string;
  status?: number;
}

export class RequestLog {
  private items: RequestLogEntry[] = [];
  private seq = 0;
  constructor(private readonly maxEntries = 10_000) {}

  append(entry: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    const full = { seq: ++this.seq, ...entry };
    this.items.push(full);
    if (this.items.length > this.maxEntries) this.items.splice(0, this.items.length - this.maxEntries);
    return full;
  }

  entries(filter: RequestLogFilter = {}): RequestLogEntry[] {
    return this.items.filter(
      (entry) =>
        (filter.operation === undefined || entry.operation?.toLowerCase() === filter.operation.toLowerCase()) &&
        (filter.key === undefined || entry.keys.includes(filter.key)) &&
        (filter.principal === undefined || entry.principal === filter.principal) &&
        (filter.status === undefined || entry.status === filter.status),
    );
  }

  count(filter: RequestLogFilter = {}): number {
    return this.entries(filter).length;
  }

  clear(): void {
    this.items = [];
  }
}
