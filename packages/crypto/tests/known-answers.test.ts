import * as lib from '../src/index.js';
import { EXPECTED_KNOWN_ANSWER_COUNTS, runKnownAnswerSuite } from './kat/known-answer-suite.js';
import { loadVectorFiles } from './kat/load-vectors.js';

describe('known answers (RFC 9180, Wycheproof) in Node', () => {
  const report = runKnownAnswerSuite(lib, loadVectorFiles());

  it('has no failing vector', () => {
    expect(report.failures).toEqual([]);
  });

  it('checked every RFC 9180 vector: DeriveKeyPair, Encap/Decap, key schedule, 1542 encryptions, 24 exports', () => {
    expect(report.hpke).toEqual(EXPECTED_KNOWN_ANSWER_COUNTS.hpke);
  });

  it('checked every Wycheproof X25519, ChaCha20-Poly1305, XChaCha20-Poly1305, HKDF-SHA256 and AES-GCM (96-bit nonce) case', () => {
    expect(report).toEqual(EXPECTED_KNOWN_ANSWER_COUNTS);
  });
});
