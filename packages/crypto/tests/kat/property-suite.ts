/**
 * Properties of sealed blobs, written once and run by jest in Node and inside Chromium on the browser bundle.
 * The library and fast-check are passed in, so the browser run exercises the bundled code.
 */
import type { Arbitrary } from 'fast-check';
import type fastCheck from 'fast-check';
import type * as CryptoLibrary from '../../src/index.js';

type Lib = typeof CryptoLibrary;
type Fc = typeof fastCheck;

/** How many generated cases each property runs; the browser run uses fewer. */
export interface PropertyBudget {
  roundTripRuns: number;
  bitFlipRuns: number;
  otherContextRuns: number;
}

/** Budget for the Node run: about two seconds on a shared 2-core machine. */
export const NODE_PROPERTY_BUDGET: PropertyBudget = { roundTripRuns: 40, bitFlipRuns: 200, otherContextRuns: 60 };

const PURPOSES = ['kms-config', 'logging-config', 'proxy-env', 'vendor-key', 'tenant-secret'] as const;

/** Any valid context: every purpose, arbitrary Unicode (no lone surrogates) in every string, any safe version. */
export function contextArbitrary(fc: Fc): Arbitrary<CryptoLibrary.SealContext> {
  const text = (minLength: number) => fc.string({ unit: 'binary', minLength, maxLength: 40 });
  return fc.record({
    purpose: fc.constantFrom(...PURPOSES),
    vendorId: text(1),
    tenantId: text(0),
    subjectId: text(1),
    subjectVersion: fc.oneof(fc.nat(1000), fc.maxSafeNat()),
  });
}

/** Cheap deterministic filler: generating 64 KiB byte-by-byte through fast-check would dominate the runtime. */
function filledBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Payloads from 0 B to 64 KiB: small fully arbitrary ones, and large ones of arbitrary length and content seed. */
export function payloadArbitrary(fc: Fc): Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 300 }),
    fc.tuple(fc.integer({ min: 0, max: 65536 }), fc.integer()).map(([length, seed]) => filledBytes(length, seed)),
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function openFailure(lib: Lib, attempt: () => Uint8Array): CryptoLibrary.CryptoErrorCode | 'OPENED' | 'UNTYPED' {
  try {
    attempt();
    return 'OPENED';
  } catch (error) {
    return lib.isCryptoError(error) ? error.code : 'UNTYPED';
  }
}

function flipBit(lib: Lib, blob: string, bit: number): string {
  const bytes = lib.base64UrlDecode(blob);
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return lib.base64UrlEncode(bytes);
}

const FLIP_CODES = new Set(['MALFORMED', 'UNSUPPORTED_VERSION', 'WRONG_RECIPIENT', 'CONTEXT_MISMATCH', 'TAMPERED']);

/** The properties, by name. Each throws (fast-check counterexample or Error) when violated and returns cases run. */
export function sealProperties(lib: Lib, fc: Fc, budget: PropertyBudget): Record<string, () => number> {
  const recipient = lib.generateKeyPair();
  const other = lib.generateKeyPair();
  return {
    'round-trips any payload (0 B to 64 KiB) under any context': () => {
      fc.assert(
        fc.property(payloadArbitrary(fc), contextArbitrary(fc), (payload, context) => {
          const blob = lib.seal(payload, recipient.publicKey, context);
          return sameBytes(lib.open(blob, recipient.privateKey, context), payload) && lib.blobRecipientKeyId(blob) === lib.keyId(recipient.publicKey);
        }),
        { numRuns: budget.roundTripRuns, examples: [[new Uint8Array(0), { purpose: 'kms-config', vendorId: 'v', tenantId: '', subjectId: '1', subjectVersion: 0 }], [filledBytes(65536, 7), { purpose: 'proxy-env', vendorId: 'v', tenantId: 't', subjectId: 's', subjectVersion: Number.MAX_SAFE_INTEGER }]] },
      );
      return budget.roundTripRuns + 2;
    },
    'fails with a typed error for every single-bit flip of an empty-payload blob (exhaustive)': () => {
      const context: CryptoLibrary.SealContext = { purpose: 'kms-config', vendorId: 'vendor', tenantId: 'tenant', subjectId: '12', subjectVersion: 1 };
      const blob = lib.seal(new Uint8Array(0), recipient.publicKey, context);
      const bits = lib.base64UrlDecode(blob).length * 8;
      for (let bit = 0; bit < bits; bit++) {
        const outcome = openFailure(lib, () => lib.open(flipBit(lib, blob, bit), recipient.privateKey, context));
        if (!FLIP_CODES.has(outcome)) throw new Error(`flipping bit ${bit} gave ${outcome}`);
      }
      return bits;
    },
    'fails with a typed error for a single-bit flip anywhere in any blob (sampled)': () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), contextArbitrary(fc), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (payload, context, position) => {
          const blob = lib.seal(payload, recipient.publicKey, context);
          const bit = Math.floor(position * lib.base64UrlDecode(blob).length * 8);
          return FLIP_CODES.has(openFailure(lib, () => lib.open(flipBit(lib, blob, bit), recipient.privateKey, context)));
        }),
        { numRuns: budget.bitFlipRuns },
      );
      return budget.bitFlipRuns;
    },
    'fails for any change of one character of the text form': () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 63 }), (payload, at, shift) => {
          const context: CryptoLibrary.SealContext = { purpose: 'tenant-secret', vendorId: 'v', tenantId: 't', subjectId: 's', subjectVersion: 3 };
          const blob = lib.seal(payload, recipient.publicKey, context);
          const index = at % blob.length;
          const replaced = alphabet[(alphabet.indexOf(blob[index]!) + shift) % 64]!;
          const mutated = blob.slice(0, index) + replaced + blob.slice(index + 1);
          return FLIP_CODES.has(openFailure(lib, () => lib.open(mutated, recipient.privateKey, context)));
        }),
        { numRuns: Math.ceil(budget.bitFlipRuns / 3) },
      );
      return Math.ceil(budget.bitFlipRuns / 3);
    },
    'fails with CONTEXT_MISMATCH under any other context': () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), contextArbitrary(fc), contextArbitrary(fc), (payload, sealedFor, openedAs) => {
          fc.pre(JSON.stringify(sealedFor) !== JSON.stringify(openedAs));
          const blob = lib.seal(payload, recipient.publicKey, sealedFor);
          return openFailure(lib, () => lib.open(blob, recipient.privateKey, openedAs)) === 'CONTEXT_MISMATCH';
        }),
        { numRuns: budget.otherContextRuns },
      );
      return budget.otherContextRuns;
    },
    'fails with CONTEXT_MISMATCH when exactly one context field differs': () => {
      fc.assert(
        fc.property(contextArbitrary(fc), fc.constantFrom('purpose', 'vendorId', 'tenantId', 'subjectId', 'subjectVersion'), (context, field) => {
          const changed = { ...context } as Record<string, unknown>;
          if (field === 'purpose') changed.purpose = PURPOSES[(PURPOSES.indexOf(context.purpose) + 1) % PURPOSES.length];
          else if (field === 'subjectVersion') changed.subjectVersion = context.subjectVersion === 0 ? 1 : context.subjectVersion - 1;
          else changed[field] = `${String(context[field as 'vendorId'])}x`;
          const blob = lib.seal(Uint8Array.of(1, 2, 3), recipient.publicKey, context);
          return openFailure(lib, () => lib.open(blob, recipient.privateKey, changed as unknown as CryptoLibrary.SealContext)) === 'CONTEXT_MISMATCH';
        }),
        { numRuns: budget.otherContextRuns },
      );
      return budget.otherContextRuns;
    },
    'fails with WRONG_RECIPIENT for any other private key': () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), contextArbitrary(fc), fc.uint8Array({ minLength: 32, maxLength: 32 }), (payload, context, otherPrivateKey) => {
          fc.pre(lib.keyId(lib.getPublicKey(otherPrivateKey)) !== lib.keyId(recipient.publicKey));
          const blob = lib.seal(payload, recipient.publicKey, context);
          return (
            openFailure(lib, () => lib.open(blob, otherPrivateKey, context)) === 'WRONG_RECIPIENT' &&
            openFailure(lib, () => lib.open(blob, other.privateKey, context)) === 'WRONG_RECIPIENT'
          );
        }),
        { numRuns: budget.otherContextRuns },
      );
      return budget.otherContextRuns;
    },
  };
}
