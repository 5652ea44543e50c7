/**
 * Runs the protected-key operations with the real default argon2id parameters in a plain Node process: inside
 * jest's vm sandbox noble's argon2id runs about 15x slower (global lookups go through the sandbox), which would
 * turn four 64 MiB derivations into minutes. Prints one JSON report; the jest test asserts on it.
 */
import {
  CryptoError,
  DEFAULT_ARGON2_PARAMS,
  generateKeyPair,
  inspectProtectedKey,
  protectPrivateKey,
  reprotectPrivateKey,
  unprotectPrivateKey,
} from '../../src/index.js';

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

async function main(): Promise<void> {
  const { privateKey, publicKey } = generateKeyPair();
  const progress: number[] = [];
  let started = performance.now();
  const blob = await protectPrivateKey(privateKey, 'correct horse battery staple', undefined, { onProgress: (f) => progress.push(f) });
  const protectMs = performance.now() - started;
  const info = inspectProtectedKey(blob);

  started = performance.now();
  const unlocked = await unprotectPrivateKey(blob, 'correct horse battery staple');
  const unprotectMs = performance.now() - started;

  let wrongPassphraseCode = 'NO ERROR';
  try {
    await unprotectPrivateKey(blob, 'correct horse battery stapler');
  } catch (error) {
    wrongPassphraseCode = error instanceof CryptoError ? error.code : 'UNTYPED';
  }

  const weak = await protectPrivateKey(privateKey, 'old', { memoryKiB: 64, iterations: 1, parallelism: 1 }, { dangerouslyAllowWeakArgon2ParamsForTestsOnly: true });
  const raised = await reprotectPrivateKey(weak, 'old', 'new passphrase', DEFAULT_ARGON2_PARAMS, { dangerouslyAllowWeakArgon2ParamsForTestsOnly: true });

  process.stdout.write(
    JSON.stringify({
      blobLength: blob.length,
      blobPrefix: blob.slice(0, 6),
      storedParams: info.params,
      storedPublicKeyMatches: sameBytes(info.publicKey, publicKey),
      progressCallbacks: progress.length,
      lastProgress: progress[progress.length - 1] ?? null,
      unlockedMatches: sameBytes(unlocked, privateKey),
      wrongPassphraseCode,
      raisedParams: inspectProtectedKey(raised).params,
      raisedPublicKeyMatches: sameBytes(inspectProtectedKey(raised).publicKey, publicKey),
      protectMs: Math.round(protectMs),
      unprotectMs: Math.round(unprotectMs),
    }),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
