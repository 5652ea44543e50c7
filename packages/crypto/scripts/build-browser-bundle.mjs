#!/usr/bin/env node
// Builds the browser bundle of @opencmk/crypto with esbuild: one self-contained ES module (with @noble/* inlined)
// that a page can import directly. With --with-test-suites it also builds the known-answer and property suites
// (plus fast-check) as a second module that loads the library bundle by URL, so the browser test exercises the
// bundle itself.
//
//   node scripts/build-browser-bundle.mjs [--outdir dist/browser] [--with-test-suites]
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outdirIndex = args.indexOf('--outdir');
const outdir = path.resolve(outdirIndex >= 0 ? args[outdirIndex + 1] : path.join(packageDir, 'dist', 'browser'));
const withTestSuites = args.includes('--with-test-suites');

/** Every file name this script writes, relative to the output folder. */
export const LIBRARY_BUNDLE = 'opencmk-crypto.js';
export const TEST_SUITES_BUNDLE = 'opencmk-crypto-test-suites.js';

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  sourcemap: true,
  legalComments: 'inline',
  logLevel: 'warning',
  metafile: true,
};

mkdirSync(outdir, { recursive: true });
const library = await build({ ...common, entryPoints: [path.join(packageDir, 'src', 'index.ts')], outfile: path.join(outdir, LIBRARY_BUNDLE) });
// The bundle must not reach for Node built-ins: it runs in the broker's browser islands.
const nodeImports = Object.values(library.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.path.startsWith('node:') || i.external));
if (nodeImports.length > 0) throw new Error(`browser bundle has external or node: imports: ${nodeImports.map((i) => i.path).join(', ')}`);
const written = [LIBRARY_BUNDLE];

if (withTestSuites) {
  await build({ ...common, entryPoints: [path.join(packageDir, 'tests', 'browser', 'harness', 'browser-entry.ts')], outfile: path.join(outdir, TEST_SUITES_BUNDLE) });
  written.push(TEST_SUITES_BUNDLE);
}
process.stdout.write(`${JSON.stringify({ outdir, files: written })}\n`);
