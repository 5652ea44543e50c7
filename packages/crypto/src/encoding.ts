import { CryptoError } from './errors.js';

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_LOOKUP: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < BASE64URL_ALPHABET.length; i++) table[BASE64URL_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Throws MALFORMED unless `value` is a Uint8Array (optionally of an exact length). */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('MALFORMED', `${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('MALFORMED', `${name} must be ${length} bytes, got ${value.length}`);
  }
}

/**
 * Encodes bytes as base64url without padding (RFC 4648 §5).
 * @param bytes - any bytes
 * @returns the base64url text
 */
export function base64UrlEncode(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      BASE64URL_ALPHABET[n >>> 18]! +
      BASE64URL_ALPHABET[(n >>> 12) & 63]! +
      BASE64URL_ALPHABET[(n >>> 6) & 63]! +
      BASE64URL_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += BASE64URL_ALPHABET[n >>> 18]! + BASE64URL_ALPHABET[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += BASE64URL_ALPHABET[n >>> 18]! + BASE64URL_ALPHABET[(n >>> 12) & 63]! + BASE64URL_ALPHABET[(n >>> 6) & 63]!;
  }
  return out;
}

/**
 * Decodes unpadded base64url (RFC 4648 §5), strictly: padding, whitespace, characters outside the alphabet and
 * non-zero trailing bits are rejected, so every byte string has exactly one accepted text form (a flipped bit in
 * the text can never decode to the same bytes).
 * @param text - base64url text
 * @returns the decoded bytes
 * @throws CryptoError MALFORMED
 */
export function base64UrlDecode(text: string): Uint8Array {
  if (typeof text !== 'string') throw new CryptoError('MALFORMED', 'base64url input must be a string');
  if (text.length % 4 === 1) throw new CryptoError('MALFORMED', 'base64url input has an impossible length');
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  const sextet = (index: number): number => {
    const code = text.charCodeAt(index);
    const value = code < 128 ? BASE64URL_LOOKUP[code]! : -1;
    if (value < 0) throw new CryptoError('MALFORMED', `invalid base64url character at position ${index}`);
    return value;
  };
  let o = 0;
  let i = 0;
  for (; i + 3 < text.length; i += 4) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = text.length - i;
  if (rest === 2) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12);
    if (n & 0xffff) throw new CryptoError('MALFORMED', 'base64url input has non-zero trailing bits');
    out[o++] = n >>> 16;
  } else if (rest === 3) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6);
    if (n & 0xff) throw new CryptoError('MALFORMED', 'base64url input has non-zero trailing bits');
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
  }
  return out;
}

/**
 * True when `text` is a string without lone UTF-16 surrogates. A lone surrogate would be replaced by U+FFFD on
 * encoding, so two different strings could encode to the same bytes; rejecting them keeps every encoding (and
 * therefore every bound context) injective.
 */
export function isWellFormedString(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    if (unit > 0xdbff) return false; // low surrogate without a preceding high one
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false; // high surrogate not followed by a low one
    i++;
  }
  return true;
}

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Encodes a string as UTF-8.
 * @param text - a well-formed string (no lone surrogates)
 * @returns the UTF-8 bytes
 * @throws CryptoError MALFORMED for non-strings and lone surrogates
 */
export function utf8Encode(text: string): Uint8Array {
  if (!isWellFormedString(text)) throw new CryptoError('MALFORMED', 'text must be a well-formed string');
  return UTF8_ENCODER.encode(text);
}

/**
 * Decodes UTF-8 strictly (invalid sequences are an error, a leading BOM is kept as U+FEFF).
 * @param bytes - UTF-8 bytes
 * @returns the decoded string
 * @throws CryptoError MALFORMED
 */
export function utf8Decode(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    throw new CryptoError('MALFORMED', 'bytes are not valid UTF-8');
  }
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** I2OSP (RFC 8017 §4.1): non-negative integer `value` as `length` big-endian bytes; throws if it does not fit. */
export function i2osp(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new CryptoError('MALFORMED', 'I2OSP input must be a non-negative safe integer');
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  if (rest !== 0) throw new CryptoError('MALFORMED', `integer too large for ${length} bytes`);
  return out;
}

/** Reads a big-endian unsigned integer of up to 6 bytes. */
export function readUintBE(bytes: Uint8Array, offset: number, length: number): number {
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[offset + i]!;
  return value;
}
