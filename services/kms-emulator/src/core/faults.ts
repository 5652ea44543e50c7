/**
 * Fault injection shared by every emulator. Rules are evaluated in the order they were added, against the request's
 * operation, key and caller; each provider maps the resulting error kind to its own wire shape
 * (AWS ThrottlingException, google.rpc.Status RESOURCE_EXHAUSTED, Key Vault 429 Throttled, …).
 */
import { EmulatorError } from './errors.js';
import { v, type Infer } from './validate.js';

/** `account`: the cloud account cannot use the service (not subscribed, region not enabled, API disabled). */
export const faultErrorKinds = ['throttle', 'unavailable', 'internal', 'timeout', 'account'] as const;
export type FaultErrorKind = (typeof faultErrorKinds)[number];

const matchSchema = v.optional(
  v.object({
    operation: v.optional(v.oneOrMany(v.string({ min: 1, max: 100 }))),
    key: v.optional(v.string({ min: 1, max: 1000 })),
    principal: v.optional(v.string({ min: 1, max: 1000 })),
  }),
);
const count = v.optional(v.int({ min: 1, max: 1_000_000 }));

export const faultRuleSchemas = {
  latency: v.object({
    type: v.literal('latency'),
    ms: v.int({ min: 0, max: 600_000 }),
    jitterMs: v.optional(v.int({ min: 0, max: 600_000 })),
    count,
    match: matchSchema,
  }),
  hang: v.object({ type: v.literal('hang'), count, match: matchSchema }),
  error: v.object({
    type: v.literal('error'),
    error: v.literal(...faultErrorKinds),
    count,
    retryAfterMs: v.optional(v.int({ min: 0, max: 3_600_000 })),
    match: matchSchema,
  }),
  'rate-limit': v.object({
    type: v.literal('rate-limit'),
    ratePerSecond: v.number({ min: 0, max: 1_000_000 }),
    burst: v.int({ min: 1, max: 1_000_000 }),
    scope: v.optional(v.literal('global', 'principal', 'key')),
    retryAfterMs: v.optional(v.int({ min: 0, max: 3_600_000 })),
    match: matchSchema,
  }),
  reset: v.object({ type: v.literal('reset'), count, match: matchSchema }),
  'corrupt-checksum': v.object({ type: v.literal('corrupt-checksum'), count, match: matchSchema }),
  malformed: v.object({ type: v.literal('malformed'), count, match: matchSchema }),
} as const;

export type FaultMatch = NonNullable<Infer<typeof matchSchema>>;
export type FaultRule = {
  [K in keyof typeof faultRuleSchemas]: Infer<(typeof faultRuleSchemas)[K]>;
}[keyof typeof faultRuleSchemas];
export type FaultRuleInput =
  | FaultRule
  | (Omit<FaultRule, 'match'> & { match?: Omit<FaultMatch, 'operation'> & { operation?: string | string[] } });

export function parseFaultRule(input: unknown): FaultRule {
  const type = (input as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !(type in faultRuleSchemas)) {
    throw new EmulatorError('INVALID_ARGUMENT', `type: expected one of ${Object.keys(faultRuleSchemas).join(', ')}`);
  }
  return faultRuleSchemas[type as keyof typeof faultRuleSchemas](input, '') as FaultRule;
}

/** What the handler knows about a request when it asks for faults. */
export interface FaultSubject {
  operation: string;
  /** Every name the request's key is known by (raw reference, ARN, resource name…). */
  keys: string[];
  principal?: string;
  /** Data-plane operations (encrypt, decrypt, wrap, sink deliveries) are what a rule without `match.operation` hits. */
  dataPlane: boolean;
}

export type FaultOutcome =
  | { action: 'proceed'; delayMs: number; corruptChecksum: boolean }
  | { action: 'hang'; delayMs: number }
  | { action: 'reset'; delayMs: number }
  | { action: 'malformed'; delayMs: number }
  | { action: 'error'; delayMs: number; error: FaultErrorKind; retryAfterMs?: number };

interface ActiveRule {
  id: number;
  rule: FaultRule;
  remaining: number; // Infinity when the rule has no count
  buckets: Map<string, { tokens: number; updatedAt: number }>;
}

export interface FaultRuleView {
  id: number;
  rule: FaultRule;
  remaining: number | null;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** `unsupported`: error kinds this emulator has no documented wire shape for; rules using them are refused. */
  constructor(private readonly unsupported: Partial<Record<FaultErrorKind, string>> = {}) {}

  add(input: FaultRuleInput | unknown): number {
    const rule = parseFaultRule(input);
    const why = rule.type === 'error' ? this.unsupported[rule.error] : undefined;
    if (why) throw new EmulatorError('INVALID_ARGUMENT', `error: '${(rule as { error: string }).error}' ${why}`);
    const id = this.nextId++;
    this.rules.push({ id, rule, remaining: 'count' in rule && rule.count ? rule.count : Infinity, buckets: new Map() });
    return id;
  }

  /** Fail the next `count` matching requests with the provider's own error for `error`. */
  failNext(
    count: number,
    error: FaultErrorKind,
    options: { retryAfterMs?: number; match?: FaultRuleInput['match'] } = {},
  ): number {
    return this.add({ type: 'error', error, count, ...options });
  }

  /** Fail every matching request until the rule is removed or the faults are cleared. */
  failAlways(error: FaultErrorKind, options: { retryAfterMs?: number; match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'error', error, ...options });
  }

  latency(ms: number, options: { jitterMs?: number; count?: number; match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'latency', ms, ...options });
  }

  hang(options: { count?: number; match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'hang', ...options });
  }

  resetNext(count = 1, options: { match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'reset', count, ...options });
  }

  rateLimit(options: {
    ratePerSecond: number;
    burst: number;
    scope?: 'global' | 'principal' | 'key';
    retryAfterMs?: number;
    match?: FaultRuleInput['match'];
  }): number {
    return this.add({ type: 'rate-limit', ...options });
  }

  corruptChecksum(options: { count?: number; match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'corrupt-checksum', ...options });
  }

  /** Answer 200 with a truncated JSON body (a broken proxy or load balancer in the path). */
  malformedNext(count = 1, options: { match?: FaultRuleInput['match'] } = {}): number {
    return this.add({ type: 'malformed', count, ...options });
  }

  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((active) => active.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRuleView[] {
    return this.rules.map(({ id, rule, remaining }) => ({
      id,
      rule,
      remaining: Number.isFinite(remaining) ? remaining : null,
    }));
  }

  evaluate(subject: FaultSubject, now = Date.now()): FaultOutcome {
    let delayMs = 0;
    let corruptChecksum = false;
    for (const active of [...this.rules]) {
      const { rule } = active;
      if (!matches(rule.match, subject)) continue;
      if (rule.type === 'rate-limit') {
        const retryAfterMs = takeToken(active, rule, subject, now);
        if (retryAfterMs !== undefined) return { action: 'error', delayMs, error: 'throttle', retryAfterMs };
        continue;
      }
      this.consume(active);
      switch (rule.type) {
        case 'latency':
          delayMs += rule.ms + (rule.jitterMs ? Math.floor(Math.random() * (rule.jitterMs + 1)) : 0);
          break;
        case 'corrupt-checksum':
          corruptChecksum = true;
          break;
        case 'hang':
          return { action: 'hang', delayMs };
        case 'reset':
          return { action: 'reset', delayMs };
        case 'malformed':
          return { action: 'malformed', delayMs };
        case 'error':
          return { action: 'error', delayMs, error: rule.error, retryAfterMs: rule.retryAfterMs };
      }
    }
    return { action: 'proceed', delayMs, corruptChecksum };
  }

  private consume(active: ActiveRule): void {
    active.remaining -= 1;
    if (active.remaining <= 0) this.rules = this.rules.filter((other) => other !== active);
  }
}

function matches(match: FaultMatch | undefined, subject: FaultSubject): boolean {
  const operations = match?.operation;
  if (operations) {
    if (!operations.some((op) => op.toLowerCase() === subject.operation.toLowerCase())) return false;
  } else if (!subject.dataPlane) {
    return false;
  }
  if (match?.key && !subject.keys.includes(match.key)) return false;
  if (match?.principal && subject.principal !== match.principal) return false;
  return true;
}

/** Token bucket; answers the wait until the next token when the bucket is empty. */
function takeToken(
  active: ActiveRule,
  rule: Extract<FaultRule, { type: 'rate-limit' }>,
  subject: FaultSubject,
  now: number,
): number | undefined {
  const scope = rule.scope ?? 'global';
  const bucketKey = scope === 'principal' ? (subject.principal ?? '') : scope === 'key' ? (subject.keys[0] ?? '') : '';
  const bucket = active.buckets.get(bucketKey) ?? { tokens: rule.burst, updatedAt: now };
  bucket.tokens = Math.min(rule.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rule.ratePerSecond);
  bucket.updatedAt = now;
  active.buckets.set(bucketKey, bucket);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return undefined;
  }
  if (rule.retryAfterMs !== undefined) return rule.retryAfterMs;
  return rule.ratePerSecond > 0 ? Math.ceil(((1 - bucket.tokens) / rule.ratePerSecond) * 1000) : 60_000;
}
