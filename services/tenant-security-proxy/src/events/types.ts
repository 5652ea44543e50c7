/** A security event as queued: cheap to create on the hot path, formatted only when delivered. */
export interface SecurityEventRecord {
  tenantId: string;
  /** Proxy events: KMS_WRAP, KMS_UNWRAP, KMS_BATCH_WRAP, KMS_BATCH_UNWRAP, KMS_REKEY; or the application's name. */
  event: string;
  timestampMillis: number;
  source: 'proxy' | 'application';
  iclFields: Record<string, string | null | undefined>;
  customFields: Record<string, string>;
  kmsConfigId?: number | undefined;
  leased?: boolean | undefined;
  /** 0 on success, the protocol code on failure. */
  code?: number | undefined;
  objectId?: string | undefined;
}

export interface EventRecorder {
  record(event: SecurityEventRecord): void;
  /**
   * One event per object id, otherwise identical to `base` (its own objectId is ignored): the items of a batch
   * request. The shared part is serialised once, not once per item.
   */
  recordBatch(base: SecurityEventRecord, objectIds: readonly string[]): void;
}

/**
 * An event as it waits in a queue: already serialised. Request objects (body, metadata) die young instead of being
 * kept alive (and promoted to the old generation) until the batch leaves, which keeps GC pauses short under load.
 * `members` is the JSON object without its braces, so a sink can add fields (stdout's "type") without re-slicing.
 */
export interface QueuedEvent {
  members: string;
  tenantId: string;
  event: string;
  timestampMillis: number;
  failed: boolean;
}

export function queuedEvent(e: SecurityEventRecord): QueuedEvent {
  return {
    members: eventMembers(e),
    tenantId: e.tenantId,
    event: e.event,
    timestampMillis: e.timestampMillis,
    failed: e.code !== undefined && e.code !== 0,
  };
}

/** The queued events of `base` for each object id; see EventRecorder#recordBatch. */
export function queuedBatchEvents(base: SecurityEventRecord, objectIds: readonly string[]): QueuedEvent[] {
  const shared = sharedMembers(base);
  const failed = base.code !== undefined && base.code !== 0;
  const out: QueuedEvent[] = new Array(objectIds.length);
  for (let i = 0; i < objectIds.length; i++) {
    out[i] = {
      members: shared + ',"objectId":' + JSON.stringify(objectIds[i]),
      tenantId: base.tenantId,
      event: base.event,
      timestampMillis: base.timestampMillis,
      failed,
    };
  }
  return out;
}

/** The JSON document every sink delivers (one per event). */
export function formatEvent(e: SecurityEventRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    tenantId: e.tenantId,
    event: e.event,
    source: e.source,
    timestamp: new Date(e.timestampMillis).toISOString(),
    timestampMillis: e.timestampMillis,
    iclFields: e.iclFields,
    customFields: e.customFields,
  };
  if (e.kmsConfigId !== undefined) out.kmsConfigId = e.kmsConfigId;
  if (e.leased !== undefined) out.leased = e.leased;
  if (e.code !== undefined) out.outcome = e.code === 0 ? 'success' : { code: e.code };
  if (e.objectId !== undefined) out.objectId = e.objectId;
  return out;
}

/**
 * The same document as formatEvent, serialised directly: sinks write thousands of events per second, and building
 * the string (every caller-supplied value through JSON.stringify) costs about half of stringifying an object.
 */
export function eventJson(e: SecurityEventRecord): string {
  return '{' + eventMembers(e) + '}';
}

/** eventJson without the braces. */
export function eventMembers(e: SecurityEventRecord): string {
  const shared = sharedMembers(e);
  return e.objectId === undefined ? shared : shared + ',"objectId":' + JSON.stringify(e.objectId);
}

/** Every member but objectId, which comes last so the items of a batch can share the rest. */
function sharedMembers(e: SecurityEventRecord): string {
  return (
    headMembers(e.tenantId, e.event, e.source) +
    isoTime(e.timestampMillis) +
    '","timestampMillis":' +
    e.timestampMillis +
    ',"iclFields":' +
    iclJson(e.iclFields) +
    ',"customFields":' +
    customJson(e.customFields) +
    tailMembers(e.kmsConfigId, e.leased, e.code)
  );
}

// Consecutive events mostly share tenant, name and outcome: the members built from them are kept from the last
// event and rebuilt only when one of them changes.
let headKey: [string, string, string] = ['', '', ''];
let head = '';
/** `"tenantId":…,"event":…,"source":…,"timestamp":"` (the time itself follows). */
function headMembers(tenantId: string, event: string, source: string): string {
  if (tenantId !== headKey[0] || event !== headKey[1] || source !== headKey[2] || head === '') {
    head =
      '"tenantId":' +
      JSON.stringify(tenantId) +
      ',"event":' +
      JSON.stringify(event) +
      ',"source":"' +
      source +
      '","timestamp":"';
    headKey = [tenantId, event, source];
  }
  return head;
}

let tailKey: [number | undefined, boolean | undefined, number | undefined] | undefined;
let tail = '';
/** `,"kmsConfigId":…,"leased":…,"outcome":…`, each only when present. */
function tailMembers(kmsConfigId: number | undefined, leased: boolean | undefined, code: number | undefined): string {
  if (tailKey === undefined || kmsConfigId !== tailKey[0] || leased !== tailKey[1] || code !== tailKey[2]) {
    tail = '';
    if (kmsConfigId !== undefined) tail += ',"kmsConfigId":' + kmsConfigId;
    if (leased !== undefined) tail += ',"leased":' + leased;
    if (code !== undefined) tail += code === 0 ? ',"outcome":"success"' : ',"outcome":{"code":' + code + '}';
    tailKey = [kmsConfigId, leased, code];
  }
  return tail;
}

let lastSecond = -1;
let secondPrefix = '';
/**
 * ISO 8601 UTC time of an event. Thousands of events share each second: the `YYYY-MM-DDTHH:MM:SS.` part is
 * formatted once per second and the milliseconds appended, which is what Date#toISOString gives for years 0–9999.
 */
function isoTime(millis: number): string {
  // Years from 10000 on use the extended six-digit form: no shortcut there.
  if (millis >= 253402300800000) return new Date(millis).toISOString();
  const second = Math.floor(millis / 1000);
  if (second !== lastSecond) {
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    lastSecond = second;
  }
  const ms = millis - second * 1000;
  return secondPrefix + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z';
}

// The items of one batch request (and the wrap and its event of one request) share their metadata objects:
// serialise each object once. Objects are never mutated after parsing, so identity implies equal JSON.
let lastIcl: object | undefined;
let lastIclJson = '';
let lastCustom: object | undefined;
let lastCustomJson = '';
function iclJson(value: object): string {
  if (value !== lastIcl) {
    lastIclJson = JSON.stringify(value);
    lastIcl = value;
  }
  return lastIclJson;
}
function customJson(value: object): string {
  if (value !== lastCustom) {
    lastCustomJson = JSON.stringify(value);
    lastCustom = value;
  }
  return lastCustomJson;
}
