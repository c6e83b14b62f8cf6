import { probeVideo, type VideoFacts } from '../media/index.ts';

/** Probe stage: read the staged file's video facts; an unusable file is an InputError naming `displayName`. */
export async function probe(ctx: { sourcePath: string; displayName: string }): Promise<VideoFacts> {
  return probeVideo(ctx.sourcePath, ctx.displayName);
}
