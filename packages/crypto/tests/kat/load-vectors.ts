import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { VECTOR_FILES, type VectorFiles } from './known-answer-suite.js';

/**
 * The shared vector folder: `../shared/vectors` next to the repository (or OPENCMK_VECTORS_DIR). A missing folder
 * is an error, never a silent skip.
 */
export function vectorsDirectory(): string {
  const dir = process.env.OPENCMK_VECTORS_DIR ?? path.resolve(__dirname, '../../../../../shared/vectors');
  if (!existsSync(path.join(dir, VECTOR_FILES[0]))) {
    throw new Error(`test vectors not found in ${dir}; set OPENCMK_VECTORS_DIR to the shared vectors folder`);
  }
  return dir;
}

/** Reads and parses every vector file the known-answer suite needs. */
export function loadVectorFiles(): VectorFiles {
  const dir = vectorsDirectory();
  const files = {} as Record<string, unknown>;
  for (const name of VECTOR_FILES) files[name] = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
  return files as VectorFiles;
}
