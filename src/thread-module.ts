/**
 * The module a worker-thread pool runs, and the flags its threads need: the build's bundle (plain
 * JavaScript, ready at once) when posepipe itself runs from dist/, else the TypeScript source,
 * loaded through tsx (under vitest and without a build). Compiling the source costs each new
 * thread about a second of CPU.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { repoPath } from './repo-root.ts';

/** The thread modules: src/merge/<name>.ts, bundled as dist/<name>.js. */
export type ThreadModuleName = 'merge-worker' | 'check-worker';

/** Whether this code is the build (dist/*.js) rather than the sources (src/*.ts). */
export const FROM_BUILD = import.meta.url.endsWith('.js');

/** `--import <tsx>` by absolute URL, so threads (and helper processes) load .ts files whatever the current folder is. */
export function tsxImport(): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    return 'tsx';
  }
}

/** The file a pool of `name` threads loads, and their execArgv. */
export function threadModule(name: ThreadModuleName): { filename: string; execArgv: string[] } {
  if (FROM_BUILD) return { filename: repoPath('dist', `${name}.js`), execArgv: [] };
  return { filename: repoPath('src', 'merge', `${name}.ts`), execArgv: ['--import', tsxImport()] };
}
