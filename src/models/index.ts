/** Model files for the tracker backends: what `posepipe models pull` uses from src/models. */
export { ManifestError, parseManifest, validateManifest, type ManualFile, type ModelFile, type ModelManifest, type ModelUnpack } from './manifest.ts';
export { readManifest } from './read-manifest.ts';
export { mirrorUrl, parseMirror } from './mirror.ts';
export { listModels } from './list-models.ts';
export { pullModels, type PullFailure, type PullOptions, type PullReport } from './pull-models.ts';
export type { TriedUrl } from './fetch-file.ts';
export type { TextOut } from './pull-progress.ts';
