import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DEFAULT_ARGON2_PARAMS, MINIMUM_ARGON2_PARAMS } from '../src/index.js';

describe('protected private keys with the real default parameters (m = 64 MiB, t = 3, p = 1)', () => {
  it('the defaults are at least the minimum the design requires', () => {
    expect(MINIMUM_ARGON2_PARAMS).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 1 });
    expect(DEFAULT_ARGON2_PARAMS.memoryKiB).toBeGreaterThanOrEqual(MINIMUM_ARGON2_PARAMS.memoryKiB);
    expect(DEFAULT_ARGON2_PARAMS.iterations).toBeGreaterThanOrEqual(MINIMUM_ARGON2_PARAMS.iterations);
    expect(DEFAULT_ARGON2_PARAMS.parallelism).toBe(1);
  });

  it('protects, unlocks, refuses a wrong passphrase and re-protects with raised parameters (plain Node process)', () => {
    const script = path.join(__dirname, 'child', 'argon2-default-params.ts');
    const output = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 110_000 });
    const report = JSON.parse(output) as Record<string, unknown>;
    expect(report).toMatchObject({
      blobLength: 179,
      blobPrefix: 'T0NQAQ',
      storedParams: { ...DEFAULT_ARGON2_PARAMS },
      storedPublicKeyMatches: true,
      unlockedMatches: true,
      wrongPassphraseCode: 'WRONG_PASSPHRASE',
      raisedParams: { ...DEFAULT_ARGON2_PARAMS },
      raisedPublicKeyMatches: true,
      lastProgress: 1,
    });
    // The async derivation yields to the event loop while it runs, so a browser tab stays responsive.
    expect(report.progressCallbacks).toEqual(expect.any(Number));
    expect(report.progressCallbacks as number).toBeGreaterThan(1);
  }, 120_000);
});
