/**
 * Entry of the test-suite bundle that runs inside Chromium. It imports the library bundle by URL at run time
 * (esbuild leaves a non-literal dynamic import alone), so the suites run against the very bundle the browser gets.
 */
import fc from 'fast-check';
import type * as CryptoLibrary from '../../../src/index.js';
import { runKnownAnswerSuite, VECTOR_FILES, type KnownAnswerReport, type VectorFiles } from '../../kat/known-answer-suite.js';
import { sealProperties, type PropertyBudget } from '../../kat/property-suite.js';

/** What the page reports back to the jest test. */
export interface BrowserRunReport {
  knownAnswers: KnownAnswerReport;
  properties: Record<string, number | string>;
  protectedKey: { blobPrefix: string; storedParams: CryptoLibrary.Argon2Params; unlocked: boolean; wrongPassphraseCode: string; protectMs: number; unprotectMs: number } | null;
  userAgent: string;
}

async function loadLibrary(url: string): Promise<typeof CryptoLibrary> {
  return (await import(url)) as typeof CryptoLibrary;
}

/** Runs every suite in the page; vectors are fetched from `vectorsBaseUrl`. */
export async function runAll(options: { libraryUrl: string; vectorsBaseUrl: string; budget: PropertyBudget; realArgon2: boolean }): Promise<BrowserRunReport> {
  const lib = await loadLibrary(options.libraryUrl);
  const files = {} as Record<string, unknown>;
  for (const name of VECTOR_FILES) {
    const response = await fetch(`${options.vectorsBaseUrl}/${name}`);
    if (!response.ok) throw new Error(`fetching ${name}: HTTP ${response.status}`);
    files[name] = await response.json();
  }
  const knownAnswers = runKnownAnswerSuite(lib, files as VectorFiles);

  const properties: Record<string, number | string> = {};
  for (const [name, run] of Object.entries(sealProperties(lib, fc, options.budget))) {
    try {
      properties[name] = run();
    } catch (error) {
      properties[name] = `FAILED: ${error instanceof Error ? error.message.slice(0, 500) : String(error)}`;
    }
  }

  let protectedKey: BrowserRunReport['protectedKey'] = null;
  if (options.realArgon2) {
    const { privateKey } = lib.generateKeyPair();
    let started = performance.now();
    const blob = await lib.protectPrivateKey(privateKey, 'browser passphrase');
    const protectMs = performance.now() - started;
    started = performance.now();
    const unlocked = await lib.unprotectPrivateKey(blob, 'browser passphrase');
    const unprotectMs = performance.now() - started;
    let wrongPassphraseCode = 'NO ERROR';
    try {
      await lib.unprotectPrivateKey(blob, 'browser passphrasf');
    } catch (error) {
      wrongPassphraseCode = lib.isCryptoError(error) ? error.code : 'UNTYPED';
    }
    protectedKey = {
      blobPrefix: blob.slice(0, 6),
      storedParams: lib.inspectProtectedKey(blob).params,
      unlocked: unlocked.length === privateKey.length && unlocked.every((b, i) => b === privateKey[i]),
      wrongPassphraseCode,
      protectMs: Math.round(protectMs),
      unprotectMs: Math.round(unprotectMs),
    };
  }
  return { knownAnswers, properties, protectedKey, userAgent: navigator.userAgent };
}
