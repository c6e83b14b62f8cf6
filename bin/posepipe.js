#!/usr/bin/env node
// Runs posepipe: the build in dist/ (`npm run build`) when it is newer than every source file, else
// the TypeScript sources directly through tsx, so an edit is never run stale and nothing breaks
// without a build.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time (ms) of the files under `dir`. */
function newest(dir) {
  let ms = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    ms = Math.max(ms, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return ms;
}

function builtMs() {
  try {
    return statSync(join(root, 'dist', 'BUILT')).mtimeMs;
  } catch {
    return -1;
  }
}

let cli;
if (builtMs() > newest(join(root, 'src'))) cli = join(root, 'dist', 'cli.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = join(root, 'src', 'cli.ts');
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
