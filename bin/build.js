#!/usr/bin/env node
// `npm run build` (also run by `npm install`/`npm ci` as `prepare`, by `npm run setup` and by `npm test`):
// bundles the command line's TypeScript into dist/ with esbuild (the compiler tsx already ships),
// so that every `posepipe` command starts in ~0.15 s of CPU instead of ~0.6–1.7 s of compiling.
// Each command's modules stay in their own chunk, loaded only when that command runs. Packages are
// not bundled. The worker threads' modules are bundled too, beside cli.js.
// Written to a fresh folder, then swapped in, so a command started meanwhile sees one whole build.
import { rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const next = join(root, `dist.tmp-${process.pid}`);
rmSync(next, { recursive: true, force: true });
await build({
  // The command line, the modules the worker-thread pools load (src/thread-module.ts), and the person
  // detector the builtin backend's worker starts (src/detector/command.ts).
  entryPoints: [
    join(root, 'src', 'cli.ts'),
    join(root, 'src', 'merge', 'merge-worker.ts'),
    join(root, 'src', 'merge', 'check-worker.ts'),
    { in: join(root, 'src', 'detector', 'serve.ts'), out: 'detect-serve' },
  ],
  entryNames: '[name]',
  outdir: next,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
// The launcher runs dist/ only while it is newer than every source file: this stamp's time says when it was built.
writeFileSync(join(next, 'BUILT'), `${new Date().toISOString()}\n`);
const old = join(root, `dist.old-${process.pid}`);
try {
  renameSync(dist, old);
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
