#!/usr/bin/env node
// Usage: node scripts/lockfile-platform-entries.mjs package-lock.json   (run after every `npm install` that changes the lock)
// The npm registry reachable here lacks other platforms' native binaries, so npm leaves their entries out of the
// lock and `npm ci` then refuses the lock as out of sync. Record each missing optional binary as an optional
// entry (never fetched on a platform it does not fit; on this one it is installed already).
import fs from 'node:fs';
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pk = lock.packages;
let added = 0;
const guess = (name) => {
  const os = ['darwin', 'win32', 'linux', 'freebsd', 'android', 'openharmony', 'wasm32'].find((o) => name.includes(`-${o}`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64'].find((c) => new RegExp(`-${c}(-|$)`).test(name));
  return { os, cpu };
};
for (const [key, meta] of Object.entries(pk)) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies || {})) {
    const nested = `${key ? key + '/' : ''}node_modules/${dep}`;
    if (pk[nested] || pk[`node_modules/${dep}`]) continue;
    const { os, cpu } = guess(dep);
    const entry = { version: range.replace(/^[\^~=]/, ''), dev: meta.dev || undefined, optional: true };
    if (os && os !== 'wasm32') entry.os = [os];
    if (cpu) entry.cpu = [cpu];
    if (dep.includes('wasm32')) entry.cpu = ['wasm32'];
    if (dep.includes('musl')) entry.libc = ['musl'];
    else if (os === 'linux' && /gnu/.test(dep)) entry.libc = ['glibc'];
    pk[`node_modules/${dep}`] = entry;
    added++;
  }
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} optional platform entries`);
