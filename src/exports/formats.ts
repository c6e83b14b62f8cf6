/**
 * The export formats: what each is, which backends give it, and how it is written. A format writes
 * its file as text pieces from the output's header and frames, read once, frame by frame (coco
 * reads them twice), so its memory stays flat in the video's length.
 */
import type { WorkSettings } from '../work-settings.ts';
import { cocoPieces } from './coco.ts';
import { csvPieces } from './csv.ts';
import { motPieces } from './mot.ts';
import { bvhTrack, smplTrack } from './per-track.ts';
import type { OutputHeader } from './read-output.ts';
import type { ExportTools, FramePass } from './pass.ts';

export type { ExportTools, FramePass } from './pass.ts';

/** What a job's output holds, as far as the exports care. */
export interface OutputFacts {
  backend: string;
  /** Whether its persons carry keypoints2d (17 COCO points, or phalp's 45). */
  keypoints2d: boolean;
  /** Whether its persons carry SMPL's parameters and camera (phalp's extras). */
  smpl: boolean;
}


/** What every export format says of itself. */
interface FormatBase {
  /** The name `--format` and the API take. */
  name: string;
  /** What it is, in a few words (help text, the page's button title). */
  title: string;
  /** The backends that give it, as docs/output.md says. */
  backends: string;
  /** File name ending after `<output name>.<format>`. */
  extension: string;
  /** The type of the file (one file), or of each track's file (one per track; the API zips them). */
  contentType: string;
  /** Why this output cannot give the format (a sentence naming both), or undefined when it can. */
  refuse(facts: OutputFacts): string | undefined;
}

/** A format of one file for the whole output, written as text. */
export interface OneFileFormat extends FormatBase {
  layout: 'one file';
  /** The file's text, piece by piece; `tracks` keeps only those tracks (undefined: every one). */
  pieces(header: OutputHeader, frames: FramePass, tracks: ReadonlySet<number> | undefined): AsyncIterable<string>;
}


/** A format of one file per track. */
export interface PerTrackFormat extends FormatBase {
  layout: 'per track';
  /** Write `track`'s file at `file` (atomically), reading the frames once; returns the gaps it found or filled. */
  writeTrack(header: OutputHeader, frames: FramePass, track: number, file: string, tools: ExportTools): Promise<{ gaps: number }>;
}

/** One export format. */
export type ExportFormat = OneFileFormat | PerTrackFormat;

/** Every backend gives boxes: these formats are never refused. */
const always = (): undefined => undefined;

const COCO_BACKENDS = 'the keypoints backend, phalp (its 45 joints mapped to COCO\'s 17), and builtin with POSEPIPE_BUILTIN_KEYPOINTS=1';
const SMPL_REFUSAL = (format: string) => (facts: OutputFacts) =>
  facts.smpl ? undefined : `the ${format} format needs SMPL's parameters, which the ${facts.backend} backend did not give this job (${format} comes from phalp, with the extras setting keeping its SMPL fields and camera)`;

/** The formats by name, in the order they are listed. */
export const EXPORT_FORMATS: readonly ExportFormat[] = Object.freeze<ExportFormat[]>([
  { name: 'mot', title: 'MOTChallenge 2D boxes (TrackEval, py-motmetrics)', backends: 'every backend', extension: 'txt', layout: 'one file', contentType: 'text/plain; charset=utf-8', refuse: always, pieces: motPieces },
  { name: 'csv', title: 'one row per person per frame: boxes, scores and 2D keypoints', backends: 'every backend', extension: 'csv', layout: 'one file', contentType: 'text/csv; charset=utf-8', refuse: always, pieces: csvPieces },
  {
    name: 'coco',
    title: 'COCO keypoints, PoseTrack-style (track ids per annotation)',
    backends: COCO_BACKENDS,
    extension: 'json',
    layout: 'one file',
    contentType: 'application/json',
    refuse: (facts: OutputFacts) =>
      facts.keypoints2d ? undefined : `the coco format needs 2D keypoints, which the ${facts.backend} backend did not give this job (coco comes from ${COCO_BACKENDS}, with the extras setting keeping keypoints2d)`,
    pieces: cocoPieces,
  },
  { name: 'smpl', title: 'SMPL parameters per track, AMASS-style .npz (SMPL add-ons, smpl2bvh)', backends: 'phalp', extension: 'npz', layout: 'per track', contentType: 'application/octet-stream', refuse: SMPL_REFUSAL('smpl'), writeTrack: smplTrack },
  { name: 'bvh', title: 'a BVH skeleton per track (Blender, Maya, MotionBuilder); needs the SMPL model', backends: 'phalp', extension: 'bvh', layout: 'per track', contentType: 'application/octet-stream', refuse: SMPL_REFUSAL('bvh'), writeTrack: bvhTrack },
]);

/** The format of that name, or undefined. */
export function exportFormat(name: string): ExportFormat | undefined {
  return EXPORT_FORMATS.find((f) => f.name === name);
}

/** The names of every format, for messages. */
export const FORMAT_NAMES = EXPORT_FORMATS.map((f) => f.name).join(', ');

/** Backends whose persons carry keypoints2d when asked; the test fixture stands in for phalp when its phalp extras are on. */
function backendKeypoints(backend: string, backendSettings: Record<string, string>): boolean {
  if (backend === 'keypoints' || backend === 'phalp') return true;
  if (backend === 'builtin') return backendSettings.POSEPIPE_BUILTIN_KEYPOINTS === '1';
  if (backend === 'test-fixture') return backendSettings.POSEPIPE_TEST_FIXTURE_EXTRAS === 'phalp' || backendSettings.POSEPIPE_TEST_FIXTURE_SMPL === '1';
  return false;
}

/** The extras the smpl and bvh exports read. */
const SMPL_EXTRAS = ['smpl_global_orient', 'smpl_body_pose', 'smpl_betas', 'camera_translation', 'focal_length'];

/** Backends whose persons carry SMPL's parameters (the test fixture when its phalp extras are on). */
function backendSmpl(backend: string, backendSettings: Record<string, string>): boolean {
  if (backend === 'phalp') return true;
  return backend === 'test-fixture' && (backendSettings.POSEPIPE_TEST_FIXTURE_EXTRAS === 'phalp' || backendSettings.POSEPIPE_TEST_FIXTURE_SMPL === '1');
}

/** Whether an extras setting (`all`, `none`, or names) keeps every one of `names`. */
function keepsExtras(extras: string, names: readonly string[]): boolean {
  if (extras === 'all') return true;
  if (extras === 'none') return false;
  const kept = extras.split(',').map((e) => e.trim());
  return names.every((n) => kept.includes(n));
}

/**
 * What a job's output holds: from the settings it was made with, or (a job from before they were
 * recorded) from its output's header, where builtin's version names its keypoints model.
 */
export function outputFacts(settings: WorkSettings | null, header: Pick<OutputHeader, 'tracker'>): OutputFacts {
  if (settings) return settingsFacts(settings);
  const backend = header.tracker.backend;
  return { backend, keypoints2d: backend === 'keypoints' || backend === 'phalp' || (backend === 'builtin' && /keypoints by /.test(header.tracker.version)), smpl: backend === 'phalp' };
}

/** What the output of a job made with these settings holds. */
export function settingsFacts(settings: WorkSettings): OutputFacts {
  return {
    backend: settings.backend,
    keypoints2d: backendKeypoints(settings.backend, settings.backendSettings) && keepsExtras(settings.extras, ['keypoints2d']),
    smpl: backendSmpl(settings.backend, settings.backendSettings) && keepsExtras(settings.extras, SMPL_EXTRAS),
  };
}

/** The formats a job with these facts gives. */
export function formatsGiven(facts: OutputFacts): ExportFormat[] {
  return EXPORT_FORMATS.filter((f) => f.refuse(facts) === undefined);
}
