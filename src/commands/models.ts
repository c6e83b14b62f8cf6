import { existsSync } from 'node:fs';
import type { Config } from '../config.ts';
import { detectorFilesCheck } from '../detector/files.ts';
import { listModels, ManifestError, pullModels, readManifest } from '../models/index.ts';

/**
 * `posepipe models pull [--list] [--mirror URL]`: ask the worker which files the configured tracker
 * needs, then list them or fetch them. Exit 0 when every downloadable file is in place (manual
 * files still missing are reported, not fatal), 2 when one failed or the manifest could not be had.
 */
export async function modelsCommand(config: Config, opts: { list: boolean; mirror?: string }): Promise<number> {
  if (!existsSync(config.python)) {
    console.error(`posepipe: ${config.python} does not exist: run \`npm run setup\`, or set POSEPIPE_PYTHON to your venv's python`);
    return 2;
  }
  let manifest;
  try {
    manifest = await readManifest({ python: config.python, backend: config.tracker });
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    console.error(`posepipe: ${error.message}`);
    return 2;
  }
  if (opts.list) {
    listModels({ manifest, mirror: opts.mirror, out: process.stdout });
    builtinNote(config);
    return 0;
  }
  const code = (await pullModels({ manifest, mirror: opts.mirror, out: process.stdout })).exitCode;
  builtinNote(config);
  return code;
}

/** builtin's detectors come with posepipe itself: say so, and whether the neural one's files are in place. */
function builtinNote(config: Config): void {
  if (config.tracker !== 'builtin') return;
  const files = detectorFilesCheck();
  console.log(`builtin needs nothing from the network: OpenCV's HOG comes with OpenCV, and ${files.ok ? files.detail : `its person detector's files are not in place (${files.detail}): run \`npm install\``}`);
}
