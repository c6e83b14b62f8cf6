import { CONFIG_SPEC } from '../config.ts';
import { InputError } from '../errors.ts';
import { probeVideo, type VideoFacts } from '../media/index.ts';

/** The largest input posepipe accepts, judged from the headers alone (configuration keys of the same names). */
export interface InputLimits {
  maxWidth: number;
  maxHeight: number;
  maxDurationSeconds: number;
}

/** The configuration's defaults (a test checks they agree): 8K, 4 hours. */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({ maxWidth: 7680, maxHeight: 4320, maxDurationSeconds: 4 * 3600 });

/** 14400 → "4:00:00", 75.5 → "0:01:16". */
function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Refuse a video whose header claims more than the limits: an InputError (no retry) naming the
 * file, the value, the limit and the setting to change. Decoding a 16K frame or hours of video
 * is the cost this avoids, so it runs on ffprobe's header facts, before chunking decodes anything.
 */
export function checkInputLimits(facts: VideoFacts, displayName: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): void {
  const name = `Cannot process "${displayName}"`;
  if (facts.width > limits.maxWidth || facts.height > limits.maxHeight) {
    throw new InputError(
      `${name}: ${facts.width}x${facts.height} is larger than the limit ${limits.maxWidth}x${limits.maxHeight} (${CONFIG_SPEC.maxWidth.env} / ${CONFIG_SPEC.maxHeight.env})`,
    );
  }
  if (facts.durationSeconds > limits.maxDurationSeconds) {
    throw new InputError(
      `${name}: it lasts ${clock(facts.durationSeconds)}, longer than the limit ${clock(limits.maxDurationSeconds)} (${CONFIG_SPEC.maxDurationSeconds.env}=${limits.maxDurationSeconds})`,
    );
  }
}

/**
 * Probe stage: read the staged file's video facts from its headers and check them against the
 * input limits; an unusable or oversized file is an InputError naming `displayName`.
 */
export async function probe(ctx: { sourcePath: string; displayName: string; limits?: InputLimits }): Promise<VideoFacts> {
  const facts = await probeVideo(ctx.sourcePath, ctx.displayName);
  checkInputLimits(facts, ctx.displayName, ctx.limits);
  return facts;
}
