/**
 * The settings that decide what a job's output holds. A video dropped again is a copy of an earlier
 * job only when both its bytes and these settings are the same; each job records them, so the page
 * and `posepipe status` can say which backend made a result, and how.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config, OutputFormat } from './config.ts';
import { repoPath } from './repo-root.ts';

/** What a job's output depends on besides its source's bytes. */
export interface WorkSettings {
  /** The tracker backend (builtin, keypoints, phalp, test-fixture). */
  backend: string;
  /** posepipe's version: the backends ship inside it, so their code changes with it. */
  version: string;
  /** The interpreter the backend runs under (another venv may hold other library versions). */
  python: string;
  /** The backend's own POSEPIPE_<BACKEND>_* settings that change its output, by name. */
  backendSettings: Record<string, string>;
  chunkSeconds: number;
  overlapFrames: number;
  extras: string;
  outputFormat: OutputFormat;
}

/**
 * Backend variables that say where or how fast the backend runs, never what it finds: the device
 * (each slot pins its own), batch sizes (a batch is halved on out-of-memory with the same result),
 * and the test-fixture backend's fault hooks (they make an attempt fail or slow, not a different result).
 */
const NOT_OUTPUT = /_(DEVICE|BATCH|FAIL_LOAD_ON|FAIL_WHILE|FRAME_SECONDS|IMPORT_ERROR|LOAD_SECONDS|PRINT|SPAWN_CHILD)$/;

let packageVersion: string | undefined;
function posepipeVersion(): string {
  packageVersion ??= String((JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  return packageVersion;
}

/** The output-deciding settings of this configuration. */
export function workSettings(config: Config): WorkSettings {
  const backendSettings: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.backendEnv)) if (!NOT_OUTPUT.test(name)) backendSettings[name] = value;
  return {
    backend: config.tracker,
    version: posepipeVersion(),
    python: config.python,
    backendSettings,
    chunkSeconds: config.chunkSeconds,
    overlapFrames: config.overlapFrames,
    extras: config.extras,
    outputFormat: config.outputFormat,
  };
}

/** JSON with every object's keys sorted: the same settings always give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The settings as a job stores them: their canonical JSON and its sha256 (the copy key beside the content's hash). */
export function settingsRecord(settings: WorkSettings): { json: string; key: string } {
  const json = canonicalJson(settings);
  return { json, key: createHash('sha256').update(json).digest('hex') };
}

/** A stored settings JSON read back (null when the job predates recorded settings or the text is damaged). */
export function parseSettings(json: string | null): WorkSettings | null {
  if (json === null) return null;
  try {
    const parsed = JSON.parse(json) as WorkSettings;
    return parsed && typeof parsed === 'object' && typeof parsed.backend === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

/** One line for people: `builtin (posepipe 0.1.0) · chunks 10 s, overlap 8 frames · extras all · json · POSEPIPE_BUILTIN_MIN_HITS=3`. */
export function describeSettings(s: WorkSettings): string {
  const own = Object.entries(s.backendSettings).map(([k, v]) => `${k}=${v}`);
  return [`${s.backend} (posepipe ${s.version})`, `chunks ${s.chunkSeconds} s, overlap ${s.overlapFrames} frames`, `extras ${s.extras}`, s.outputFormat, ...own].join(' · ');
}
