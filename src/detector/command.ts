/**
 * How the Python tracker worker starts the person detector helper (src/detector/serve.ts): this
 * Node with the build's bundle when posepipe runs from dist/, else with the TypeScript source
 * through tsx. Handed to the worker as POSEPIPE_DETECTOR_COMMAND (a JSON array: no shell).
 */
import { repoPath } from '../repo-root.ts';
import { FROM_BUILD, tsxImport } from '../thread-module.ts';

/** The detector helper's command line, as an argument array. */
export function detectorCommand(): string[] {
  if (FROM_BUILD) return [process.execPath, repoPath('dist', 'detect-serve.js')];
  return [process.execPath, '--import', tsxImport(), repoPath('src', 'detector', 'serve.ts')];
}
