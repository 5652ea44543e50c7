import type { BatchResult } from '../key-service.js';

const PIECE_CHARS = 60 * 1024;

/**
 * The JSON of a batch answer (`{"keys":{…},"failures":{…}}`), equal to JSON.stringify of it but built directly: a
 * batch has one entry per document (thousands), its maps are null-prototype dictionaries, and JSON.stringify walks
 * those on its slow path, about three times slower than this. `dek` and `edek` are standard base64 (RFC 4648 §4),
 * whose alphabet needs no JSON escaping; document ids and failures go through JSON.stringify.
 */
export function batchJson(result: BatchResult<{ dek: string; edek?: string }>): string[] {
  // In pieces of under 64 Ki characters (see Http1Request#respond): a 1,000-key answer is about 400 KB.
  const pieces: string[] = [];
  let json = '{"keys":{';
  let first = true;
  for (const id in result.keys) {
    const entry = result.keys[id]!;
    json +=
      (first ? '' : ',') +
      JSON.stringify(id) +
      ':{"dek":"' +
      entry.dek +
      (entry.edek === undefined ? '"}' : '","edek":"' + entry.edek + '"}');
    first = false;
    if (json.length >= PIECE_CHARS) {
      pieces.push(json);
      json = '';
    }
  }
  pieces.push(json + '},"failures":');
  // Failures are few (one per bad item, each a short message) unless a whole batch fails; split the same way.
  let failures = '{';
  first = true;
  for (const id in result.failures) {
    failures += (first ? '' : ',') + JSON.stringify(id) + ':' + JSON.stringify(result.failures[id]);
    first = false;
    if (failures.length >= PIECE_CHARS) {
      pieces.push(failures);
      failures = '';
    }
  }
  pieces.push(failures + '}}');
  return pieces;
}
