/**
 * Minimal DER (ITU-T X.690 §8 and §10) encoder: just the universal types an X.509 certificate needs.
 */

export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export const der = {
  sequence: (...items: Buffer[]) => tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]) => tlv(0x31, Buffer.concat(items)),
  boolean: (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0x00])),
  /** A non-negative INTEGER from big-endian magnitude bytes (X.690 §8.3: minimal, two's complement). */
  unsignedInteger(magnitude: Buffer): Buffer {
    let start = 0;
    while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
    let bytes = magnitude.subarray(start);
    if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return tlv(0x02, bytes);
  },
  smallInteger: (value: number) => der.unsignedInteger(Buffer.from([value])),
  objectIdentifier(dotted: string): Buffer {
    const arcs = dotted.split('.').map(Number);
    const [first = 0, second = 0, ...rest] = arcs;
    const out: number[] = [first * 40 + second];
    for (const arc of rest) {
      const chunk: number[] = [arc & 0x7f];
      for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
        chunk.unshift((value & 0x7f) | 0x80);
      out.push(...chunk);
    }
    return tlv(0x06, Buffer.from(out));
  },
  octetString: (bytes: Buffer) => tlv(0x04, bytes),
  bitString: (bytes: Buffer, unusedBits = 0) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes])),
  utf8String: (text: string) => tlv(0x0c, Buffer.from(text, 'utf8')),
  /** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
  time(date: Date): Buffer {
    const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
    return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
  },
  explicit: (tagNumber: number, content: Buffer) => tlv(0xa0 | tagNumber, content),
  implicitPrimitive: (tagNumber: number, content: Buffer) => tlv(0x80 | tagNumber, content),
};
