/**
 * Metadata sent with every call, as IronCore's `DocumentMetadata` / `FieldMetadata` / `EventMetadata` (same
 * constructor arguments, same JSON: PROTOCOL.md §1.1). Validated with zod when constructed, so that a bad value
 * fails at the call site with a clear message instead of as a 102 from the proxy.
 */
import { z } from 'zod';

const requiredText = (what: string) =>
  z.string({ error: `${what} must be a string.` }).min(1, { error: `Must provide a valid ${what}.` });
const optionalText = (what: string) => z.string({ error: `${what} must be a string when given.` }).optional();
const otherDataSchema = z
  .record(z.string(), z.string(), { error: 'otherData must map strings to strings.' })
  .optional();

const metadataSchema = z.object({
  tenantId: requiredText('tenantId'),
  requestingUserOrServiceId: requiredText('requestingUserOrServiceId'),
  dataLabel: optionalText('dataLabel'),
  sourceIp: optionalText('sourceIp'),
  objectId: optionalText('objectId'),
  requestId: optionalText('requestId'),
  otherData: otherDataSchema,
});

function validated<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues
      .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
      .join('; ');
    throw new TypeError(`Invalid ${what}: ${issues}`);
  }
  return result.data;
}

export interface IclFields {
  requestingId: string;
  dataLabel?: string;
  sourceIp?: string;
  objectId?: string;
  requestId?: string;
  event?: string;
}

export interface MetadataJson {
  tenantId: string;
  iclFields: IclFields;
  customFields: Record<string, string>;
}

function iclFields(metadata: {
  requestingUserOrServiceId: string;
  dataLabel?: string;
  sourceIp?: string;
  objectId?: string;
  requestId?: string;
}): IclFields {
  // Absent values are omitted rather than sent as null, as IronCore's Node client does.
  const fields: IclFields = { requestingId: metadata.requestingUserOrServiceId };
  if (metadata.sourceIp !== undefined) fields.sourceIp = metadata.sourceIp;
  if (metadata.objectId !== undefined) fields.objectId = metadata.objectId;
  if (metadata.dataLabel !== undefined) fields.dataLabel = metadata.dataLabel;
  if (metadata.requestId !== undefined) fields.requestId = metadata.requestId;
  return fields;
}

class Metadata {
  tenantId: string;
  requestingUserOrServiceId: string;
  dataLabel?: string;
  sourceIp?: string;
  objectId?: string;
  requestId?: string;
  otherData: Record<string, string>;

  constructor(
    tenantId: string,
    requestingUserOrServiceId: string,
    dataLabel?: string,
    sourceIp?: string,
    objectId?: string,
    requestId?: string,
    otherData?: Record<string, string>,
  ) {
    const valid = validated(
      metadataSchema,
      { tenantId, requestingUserOrServiceId, dataLabel, sourceIp, objectId, requestId, otherData },
      'metadata',
    );
    this.tenantId = valid.tenantId;
    this.requestingUserOrServiceId = valid.requestingUserOrServiceId;
    this.dataLabel = valid.dataLabel;
    this.sourceIp = valid.sourceIp;
    this.objectId = valid.objectId;
    this.requestId = valid.requestId;
    this.otherData = valid.otherData ?? {};
  }

  toJsonStructure = (): MetadataJson => ({
    tenantId: this.tenantId,
    iclFields: iclFields(this),
    customFields: { ...this.otherData },
  });
}

/** Metadata for document operations. */
export class DocumentMetadata extends Metadata {}
/** Metadata for field operations (deterministic encryption in IronCore's client). */
export class FieldMetadata extends Metadata {}

export interface EventMetadataJson extends MetadataJson {
  timestampMillis: number;
}

const eventMetadataSchema = metadataSchema.extend({
  timestampMillis: z.number({ error: 'timestampMillis must be a number.' }).int().nonnegative().optional(),
});

/** Metadata for security events; the timestamp defaults to now. */
export class EventMetadata {
  tenantId: string;
  requestingUserOrServiceId: string;
  dataLabel?: string;
  timestampMillis: number;
  sourceIp?: string;
  objectId?: string;
  requestId?: string;
  otherData: Record<string, string>;

  constructor(
    tenantId: string,
    requestingUserOrServiceId: string,
    dataLabel?: string,
    timestampMillis?: number,
    sourceIp?: string,
    objectId?: string,
    requestId?: string,
    otherData?: Record<string, string>,
  ) {
    const valid = validated(
      eventMetadataSchema,
      { tenantId, requestingUserOrServiceId, dataLabel, timestampMillis, sourceIp, objectId, requestId, otherData },
      'event metadata',
    );
    this.tenantId = valid.tenantId;
    this.requestingUserOrServiceId = valid.requestingUserOrServiceId;
    this.dataLabel = valid.dataLabel;
    // IronCore treats 0 as "not given" too.
    this.timestampMillis = valid.timestampMillis || Date.now();
    this.sourceIp = valid.sourceIp;
    this.objectId = valid.objectId;
    this.requestId = valid.requestId;
    this.otherData = valid.otherData ?? {};
  }

  toJsonStructure = (): EventMetadataJson => ({
    tenantId: this.tenantId,
    timestampMillis: this.timestampMillis,
    iclFields: iclFields(this),
    customFields: { ...this.otherData },
  });
}
