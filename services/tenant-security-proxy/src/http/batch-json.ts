import type { BatchResult } from '../key-service.js';

/**
 * The JSON of a batch answer (`{"keys":{…},"failures":{…}}`), equal to JSON.stringify of it but built directly: a
 * batch has one entry per document (thousands), its maps are null-prototype dictionaries, and JSON.stringify walks
 * those on its slow path, about three times slower than this. `dek` and `edek` are standard base64 (RFC 4648 §4),
 * whose alphabet needs no JSON escaping; document ids and failures go through JSON.stringify.
 */
export function batchJson(result: BatchResult<{ dek: string; edek?: string }>): string {
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
  }
  return json + '},"failures":' + JSON.stringify(result.failures) + '}';
}
