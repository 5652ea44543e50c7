/**
 * The known-answer suite, written once and run both by jest in Node and inside Chromium on the browser bundle.
 * It receives the library and the parsed vector files as arguments (no imports of its own besides types), so the
 * browser run exercises the bundled code, not a second copy of it.
 */
import type * as CryptoLibrary from '../../src/index.js';

/** Parsed contents of the vector files in ../shared/vectors, keyed by file name. */
export type VectorFiles = Record<(typeof VECTOR_FILES)[number], unknown>;

/** The vector files the suite needs. */
export const VECTOR_FILES = [
  'hpke_rfc9180_x25519_hkdfsha256_base_psk.json',
  'wycheproof_x25519_test.json',
  'wycheproof_chacha20_poly1305_test.json',
  'wycheproof_xchacha20_poly1305_test.json',
  'wycheproof_hkdf_sha256_test.json',
  'wycheproof_aes_gcm_test.json',
] as const;

/** Counts of checks that passed, by family; `failures` lists what did not (vector ids, never secrets of real keys). */
export interface KnownAnswerReport {
  hpke: {
    entries: number;
    derivedKeyPairs: number;
    encapsulations: number;
    keySchedules: number;
    encryptionsSealed: number;
    encryptionsOpened: number;
    exports: number;
    exportOnlySealRefused: number;
    zeroSharedSecretAborted: number;
  };
  x25519: { matched: number; zeroSharedSecretAborted: number; total: number };
  chacha20Poly1305: { validPassed: number; invalidRejected: number; total: number };
  xchacha20Poly1305: { validPassed: number; invalidRejected: number; total: number };
  hkdfSha256: { validPassed: number; invalidRejected: number; total: number };
  aesGcm: { validPassed: number; invalidRejected: number; total: number };
  failures: string[];
}

interface WycheproofFile<T> {
  numberOfTests: number;
  testGroups: { [key: string]: unknown; tests: (T & { tcId: number; result: 'valid' | 'invalid' | 'acceptable'; flags: string[] })[] }[];
}

interface HpkeEntry {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmR: string;
  ikmE: string;
  skRm: string;
  skEm: string;
  pkRm: string;
  pkEm: string;
  psk?: string;
  psk_id?: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; nonce: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

function hex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new Error('odd hex length');
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function throwsCryptoError(lib: typeof CryptoLibrary, action: () => unknown, code?: CryptoLibrary.CryptoErrorCode): boolean {
  try {
    action();
    return false;
  } catch (error) {
    return lib.isCryptoError(error, code);
  }
}

/** Runs every known-answer check and counts the passes. */
export function runKnownAnswerSuite(lib: typeof CryptoLibrary, files: VectorFiles): KnownAnswerReport {
  const failures: string[] = [];
  const fail = (what: string): void => {
    if (failures.length < 50) failures.push(what);
  };
  const report: KnownAnswerReport = {
    hpke: { entries: 0, derivedKeyPairs: 0, encapsulations: 0, keySchedules: 0, encryptionsSealed: 0, encryptionsOpened: 0, exports: 0, exportOnlySealRefused: 0, zeroSharedSecretAborted: 0 },
    x25519: { matched: 0, zeroSharedSecretAborted: 0, total: 0 },
    chacha20Poly1305: { validPassed: 0, invalidRejected: 0, total: 0 },
    xchacha20Poly1305: { validPassed: 0, invalidRejected: 0, total: 0 },
    hkdfSha256: { validPassed: 0, invalidRejected: 0, total: 0 },
    aesGcm: { validPassed: 0, invalidRejected: 0, total: 0 },
    failures,
  };
  const { hpke, primitives } = lib;

  // RFC 9180 Appendix A: DeriveKeyPair, Encap/Decap, key schedule, every encryption in order, every export.
  const entries = files['hpke_rfc9180_x25519_hkdfsha256_base_psk.json'] as HpkeEntry[];
  for (const [index, v] of entries.entries()) {
    const id = `hpke[${index}] mode=${v.mode} aead=${v.aead_id}`;
    if (v.kem_id !== hpke.KEM_X25519_HKDF_SHA256 || v.kdf_id !== hpke.KDF_HKDF_SHA256) {
      fail(`${id}: unexpected suite`);
      continue;
    }
    report.hpke.entries++;
    const ephemeral = hpke.deriveKeyPair(hex(v.ikmE));
    const recipient = hpke.deriveKeyPair(hex(v.ikmR));
    for (const [name, got, want] of [
      ['skEm', ephemeral.privateKey, v.skEm],
      ['pkEm', ephemeral.publicKey, v.pkEm],
      ['skRm', recipient.privateKey, v.skRm],
      ['pkRm', recipient.publicKey, v.pkRm],
    ] as const) {
      if (sameBytes(got, hex(want))) report.hpke.derivedKeyPairs++;
      else fail(`${id}: DeriveKeyPair ${name}`);
    }
    const psk = v.mode === hpke.MODE_PSK ? { psk: hex(v.psk ?? ''), pskId: hex(v.psk_id ?? '') } : undefined;
    const options = { aeadId: v.aead_id, info: hex(v.info), ...(psk ? { psk } : {}) };
    const sender = hpke.setupSender(hex(v.pkRm), options, { privateKey: hex(v.skEm), publicKey: hex(v.pkEm) });
    const decapsulated = hpke.decap(hex(v.enc), hex(v.skRm));
    if (sameBytes(sender.enc, hex(v.enc)) && sameBytes(sender.sharedSecret, hex(v.shared_secret)) && sameBytes(decapsulated, hex(v.shared_secret))) {
      report.hpke.encapsulations++;
    } else fail(`${id}: Encap/Decap`);
    const s = sender.schedule;
    if (
      sameBytes(s.keyScheduleContext, hex(v.key_schedule_context)) &&
      sameBytes(s.secret, hex(v.secret)) &&
      sameBytes(s.key, hex(v.key)) &&
      sameBytes(s.baseNonce, hex(v.base_nonce)) &&
      sameBytes(s.exporterSecret, hex(v.exporter_secret))
    ) {
      report.hpke.keySchedules++;
    } else fail(`${id}: key schedule`);
    const receiver = hpke.setupReceiver(hex(v.enc), hex(v.skRm), options);
    for (const [seq, e] of v.encryptions.entries()) {
      // Sequence numbers advance one per message (RFC 9180 §5.2), so the vectors must be processed in order.
      const ct = sender.context.seal(hex(e.aad), hex(e.pt));
      if (sameBytes(ct, hex(e.ct))) report.hpke.encryptionsSealed++;
      else fail(`${id}: seal #${seq}`);
      let pt: Uint8Array | null = null;
      try {
        pt = receiver.open(hex(e.aad), hex(e.ct));
      } catch {
        pt = null;
      }
      if (pt && sameBytes(pt, hex(e.pt))) report.hpke.encryptionsOpened++;
      else fail(`${id}: open #${seq}`);
    }
    if (v.aead_id === hpke.AEAD_EXPORT_ONLY) {
      if (throwsCryptoError(lib, () => sender.context.seal(new Uint8Array(0), new Uint8Array(1)), 'UNSUPPORTED_VERSION')) report.hpke.exportOnlySealRefused++;
      else fail(`${id}: export-only context sealed`);
    }
    for (const [j, x] of v.exports.entries()) {
      const want = hex(x.exported_value);
      if (sameBytes(sender.context.export(hex(x.exporter_context), x.L), want) && sameBytes(receiver.export(hex(x.exporter_context), x.L), want)) {
        report.hpke.exports++;
      } else fail(`${id}: export #${j}`);
    }
  }

  // Wycheproof X25519 through the DH wrapper HPKE uses; all-zero outputs must abort (RFC 9180 §7.1.4).
  const x25519File = files['wycheproof_x25519_test.json'] as WycheproofFile<{ public: string; private: string; shared: string }>;
  const zeroSharedSecretPublicKeys: Uint8Array[] = [];
  for (const group of x25519File.testGroups) {
    for (const t of group.tests) {
      report.x25519.total++;
      const zero = /^0+$/.test(t.shared);
      let shared: Uint8Array | null = null;
      try {
        shared = primitives.x25519SharedSecret(hex(t.private), hex(t.public));
      } catch (error) {
        if (!lib.isCryptoError(error, 'INVALID_KEY')) fail(`x25519 tc${t.tcId}: untyped error`);
      }
      if (zero) {
        zeroSharedSecretPublicKeys.push(hex(t.public));
        if (shared === null) report.x25519.zeroSharedSecretAborted++;
        else fail(`x25519 tc${t.tcId}: all-zero shared secret not aborted`);
      } else if (t.result !== 'invalid' && shared && sameBytes(shared, hex(t.shared))) {
        report.x25519.matched++;
      } else fail(`x25519 tc${t.tcId}: ${t.result} case gave ${shared ? 'a different result' : 'an error'}`);
    }
  }
  // The same low-order public keys as HPKE recipients: Encap must abort, never produce a key.
  for (const publicKey of zeroSharedSecretPublicKeys) {
    if (throwsCryptoError(lib, () => hpke.encap(publicKey), 'INVALID_KEY')) report.hpke.zeroSharedSecretAborted++;
    else fail('hpke encap to a low-order key did not abort');
  }

  // Wycheproof AEADs through the same wrappers the HPKE contexts and the key protection use.
  const aeadFamilies: [keyof KnownAnswerReport, string, (g: Record<string, unknown>) => CryptoLibrary.primitives.Aead | null][] = [
    ['chacha20Poly1305', 'wycheproof_chacha20_poly1305_test.json', () => primitives.CHACHA20_POLY1305],
    ['xchacha20Poly1305', 'wycheproof_xchacha20_poly1305_test.json', () => primitives.XCHACHA20_POLY1305],
    // AES-GCM only as HPKE uses it: 96-bit nonces, 128- and 256-bit keys.
    ['aesGcm', 'wycheproof_aes_gcm_test.json', (g) => (g.ivSize !== 96 ? null : g.keySize === 128 ? primitives.AES_128_GCM : g.keySize === 256 ? primitives.AES_256_GCM : null)],
  ];
  for (const [family, file, pick] of aeadFamilies) {
    const counts = report[family] as { validPassed: number; invalidRejected: number; total: number };
    const data = files[file as (typeof VECTOR_FILES)[number]] as WycheproofFile<{ key: string; iv: string; aad: string; msg: string; ct: string; tag: string }>;
    for (const group of data.testGroups) {
      const aead = pick(group);
      if (!aead) continue;
      for (const t of group.tests) {
        counts.total++;
        const sealed = hex(t.ct + t.tag);
        let opened: Uint8Array | null = null;
        let openError: unknown = null;
        try {
          opened = aead.open(hex(t.key), hex(t.iv), hex(t.aad), sealed);
        } catch (error) {
          openError = error;
        }
        if (openError !== null && !lib.isCryptoError(openError)) fail(`${family} tc${t.tcId}: untyped error`);
        if (t.result === 'valid') {
          let resealed: Uint8Array | null = null;
          try {
            resealed = aead.seal(hex(t.key), hex(t.iv), hex(t.aad), hex(t.msg));
          } catch {
            resealed = null;
          }
          if (opened && sameBytes(opened, hex(t.msg)) && resealed && sameBytes(resealed, sealed)) counts.validPassed++;
          else fail(`${family} tc${t.tcId}: valid case failed`);
        } else if (t.result === 'invalid') {
          if (opened === null) counts.invalidRejected++;
          else fail(`${family} tc${t.tcId}: invalid case accepted`);
        } else fail(`${family} tc${t.tcId}: unexpected result ${t.result}`);
      }
    }
  }

  const hkdfFile = files['wycheproof_hkdf_sha256_test.json'] as WycheproofFile<{ ikm: string; salt: string; info: string; size: number; okm: string }>;
  for (const group of hkdfFile.testGroups) {
    for (const t of group.tests) {
      report.hkdfSha256.total++;
      let okm: Uint8Array | null = null;
      try {
        okm = primitives.hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size);
      } catch (error) {
        if (!lib.isCryptoError(error, 'MALFORMED')) fail(`hkdf tc${t.tcId}: untyped error`);
      }
      if (t.result === 'valid') {
        if (okm && sameBytes(okm, hex(t.okm))) report.hkdfSha256.validPassed++;
        else fail(`hkdf tc${t.tcId}: valid case failed`);
      } else if (okm === null) report.hkdfSha256.invalidRejected++;
      else fail(`hkdf tc${t.tcId}: invalid case accepted`);
    }
  }
  return report;
}

/** The counts a complete, passing run produces (from ../shared/vectors/README.md), asserted in Node and Chromium. */
export const EXPECTED_KNOWN_ANSWER_COUNTS = {
  hpke: {
    entries: 8,
    derivedKeyPairs: 32,
    encapsulations: 8,
    keySchedules: 8,
    encryptionsSealed: 1542,
    encryptionsOpened: 1542,
    exports: 24,
    exportOnlySealRefused: 2,
    zeroSharedSecretAborted: 31,
  },
  x25519: { matched: 487, zeroSharedSecretAborted: 31, total: 518 },
  chacha20Poly1305: { validPassed: 256, invalidRejected: 69, total: 325 },
  xchacha20Poly1305: { validPassed: 246, invalidRejected: 69, total: 315 },
  hkdfSha256: { validPassed: 83, invalidRejected: 3, total: 86 },
  aesGcm: { validPassed: 79, invalidRejected: 54, total: 133 },
  failures: [] as string[],
};
