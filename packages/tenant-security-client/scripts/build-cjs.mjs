// CommonJS flavour of the package, next to the ESM build from tsc: one bundled dist/cjs/index.cjs (dependencies
// stay external) and the declarations copied as .d.cts, so `require()` users get the same API and types.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const esmDir = join(root, 'dist');
const cjsDir = join(root, 'dist', 'cjs');

await build({
  entryPoints: [join(root, 'src', 'index.ts')],
  outfile: join(cjsDir, 'index.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});

function copyDeclarations(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (path === cjsDir) continue;
    if (statSync(path).isDirectory()) copyDeclarations(path);
    else if (name.endsWith('.d.ts')) {
      const target = join(cjsDir, relative(esmDir, path)).replace(/\.d\.ts$/, '.d.cts');
      mkdirSync(dirname(target), { recursive: true });
      // Relative specifiers name .js files; in the CommonJS declarations they name the .cjs siblings.
      const text = readFileSync(path, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.js(['"])/g, '$1.cjs$2');
      writeFileSync(target, text);
    }
  }
}
copyDeclarations(esmDir);
