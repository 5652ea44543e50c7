import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { VECTOR_FILES, type VectorFiles } from './known-answer-suite.js';

/** SHA-256 of each vendored vector file: a modified or reformatted copy fails loudly instead of testing less. */
const VECTOR_SHA256: Record<(typeof VECTOR_FILES)[number], string> = {
  'hpke_rfc9180_x25519_hkdfsha256_base_psk.json': '05095be3b060ba7f581fbaa3330e936f1b013146e7822c2566507238735fdf94',
  'wycheproof_x25519_test.json': '35c3f5231cf25cc640b524d403461deee9e49441d5d915a3a25b2c8ff5adbe7d',
  'wycheproof_chacha20_poly1305_test.json': 'fe61d25f90e1bde4461d00eafe61049e5f29bd999f36b766df9cda90906ad53d',
  'wycheproof_xchacha20_poly1305_test.json': 'a79de072571b90eb40c3a63ce0c7f75dcb4b62323c8870228e1f61dcc61d63a9',
  'wycheproof_hkdf_sha256_test.json': 'bb2b462a38b251cb52a2aede706d6d4b62b26864f4e80c95497507ddb07c5f1e',
  'wycheproof_aes_gcm_test.json': '985e5ecc172e181eaf49e89508b9470dcf478002eb7e8559c707eb42dc97dfe7',
};

/**
 * The vector folder: OPENCMK_VECTORS_DIR if set, else the copies in tests/vectors (see its README). Every file must
 * exist and match its pinned SHA-256; anything else is an error, never a silent skip.
 */
export function vectorsDirectory(): string {
  const dir = process.env.OPENCMK_VECTORS_DIR ?? path.resolve(__dirname, '..', 'vectors');
  for (const name of VECTOR_FILES) {
    const file = path.join(dir, name);
    if (!existsSync(file)) throw new Error(`test vector file missing: ${file}`);
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (digest !== VECTOR_SHA256[name]) throw new Error(`test vector file ${file} does not match its pinned SHA-256`);
  }
  return dir;
}

/** Reads, checks and parses every vector file the known-answer suite needs. */
export function loadVectorFiles(): VectorFiles {
  const dir = vectorsDirectory();
  const files = {} as Record<string, unknown>;
  for (const name of VECTOR_FILES) files[name] = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
  return files as VectorFiles;
}
