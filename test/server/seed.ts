/**
 * Jobs in the states the page shows, made through the real Db transitions the pipeline uses
 * (no rows written by hand), so the page is tested against what the pipeline really records.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config.ts';
import type { Db, FailureRecord } from '../../src/db/index.ts';
import type { VideoFacts } from '../../src/media/index.ts';
import { type MergeResult, writePlayerFiles } from '../../src/merge/index.ts';
import { jobDir } from '../../src/paths.ts';
import { previewVideo } from '../../src/stages/preview.ts';

let made = 0;

/** A queued job with a unique hash. */
export function queuedJob(db: Db, name = 'clip.mp4', settings?: { json: string; key: string }): number {
  const sha256 = createHash('sha256').update(`${process.pid}:${++made}:${name}`).digest('hex');
  return db.createJob({ sourceName: name, sourcePath: `/inbox/${made}`, sha256, bytes: 123_456, settings }).job.id;
}

/** A job that failed in its first stage. */
export function failedJob(db: Db, name: string, failure: FailureRecord): number {
  const id = queuedJob(db, name);
  db.claimJob(id);
  db.startStage(id, 'stage');
  db.failStage(id, 'stage', failure);
  db.failJob(id, failure);
  return id;
}

/** The facts a probe of a 25 fps H.264 video records (640×360 unless told). */
export function facts(frames: number, size: [number, number] = [640, 360]): VideoFacts {
  return {
    width: size[0], height: size[1], rotation: 0, fps: 25, fpsFraction: '25/1', durationSeconds: frames / 25, codec: 'h264',
    pixelFormat: 'yuv420p', frameCountEstimate: frames, hasAudio: false, formatName: 'mov,mp4', bytes: 123_456,
  };
}

/** What a seeded job is: its name, chunks, frame size and (settingsRecord of) the settings it was made with. */
export interface SeedOptions {
  name?: string;
  chunks: number;
  perChunk?: number;
  size?: [number, number];
  settings?: { json: string; key: string };
}

/** A running job at its track stage with `chunks` pending chunks of `perChunk` frames (stage, probe, chunk done). */
export function chunkedJob(db: Db, opts: SeedOptions): number {
  const per = opts.perChunk ?? 25;
  const id = queuedJob(db, opts.name, opts.settings);
  db.claimJob(id);
  db.startStage(id, 'stage');
  db.finishStage(id, 'stage', { file: 'source.mp4', bytes: 123_456, sha256: 'b'.repeat(64) });
  db.startStage(id, 'probe');
  db.finishStage(id, 'probe', facts(opts.chunks * per, opts.size));
  const rows = Array.from({ length: opts.chunks }, (_, i) => ({ idx: i, file: `chunks/${String(i).padStart(4, '0')}.mp4`, firstFrame: i * per, frameCount: per, overlapFrames: 0 }));
  db.startStage(id, 'chunk');
  const output = { totalFrames: opts.chunks * per, framesPerChunk: per, method: 'encode', chunks: rows.map((r) => ({ index: r.idx, file: r.file, firstFrame: r.firstFrame, frameCount: r.frameCount })) };
  db.finishStage(id, 'chunk', output, () => db.replaceChunks(id, rows));
  db.startStage(id, 'track');
  return id;
}

/** Track one chunk to done. */
export function chunkDone(db: Db, id: number, idx: number, trackerMs = 1500): void {
  db.startChunk(id, idx);
  db.finishChunk(id, idx, { file: `results/${idx}.pkl`, bytes: 10, sha256: 'c'.repeat(64), trackerMs });
}

/** Fail one chunk for good (no retry left). */
export function chunkFailed(db: Db, id: number, idx: number, failure: FailureRecord): void {
  db.startChunk(id, idx);
  db.failChunk(id, idx, failure, false);
}

/** Fail a job at its track stage (after a chunk failed for good). */
export function failAtTrack(db: Db, id: number, failure: FailureRecord): void {
  db.failStage(id, 'track', failure);
  db.failJob(id, failure);
}

/** Finish every chunk and the remaining stages, writing the output JSON to the outbox (no player files). */
export function doneJob(db: Db, config: Config, opts: SeedOptions): number {
  const id = emittedJob(db, config, opts);
  db.startStage(id, 'preview');
  db.finishStage(id, 'preview', { preview: null, reason: 'seeded without a preview', player: { dir: 'player', windows: 0 } });
  db.finishJob(id);
  return id;
}

/**
 * A done job whose preview stage's files were really made on `source` (copied in as the staged
 * source.mp4) and `merged`: the player's frame windows (by the writer the stage streams the chunk
 * results into, here given the frames in memory) and a preview video unless size is 0.
 */
export async function playerJob(db: Db, config: Config, opts: { name?: string; source: string; merged: MergeResult; size: number; fps?: number; dims?: [number, number] }): Promise<number> {
  const frames = opts.merged.frames.length;
  const id = emittedJob(db, config, { name: opts.name, chunks: 1, perChunk: frames, size: opts.dims });
  const dir = jobDir(config, id);
  copyFileSync(opts.source, join(dir, 'source.mp4'));
  db.startStage(id, 'preview');
  const [width, height] = opts.dims ?? [640, 360];
  const windows = await writePlayerFiles({ jobDir: dir, frames: opts.merged.frames, frameCount: frames, tracks: opts.merged.tracks, width, height, fps: opts.fps ?? 25 });
  const out = await previewVideo({ jobDir: dir, source: 'source.mp4', displayName: opts.name ?? 'clip.mp4', size: opts.size, frameCount: frames }, windows);
  db.finishStage(id, 'preview', out);
  db.finishJob(id);
  return id;
}

/** Every chunk done and the stages up to emit, the output JSON in the outbox; the preview stage is next. */
function emittedJob(db: Db, config: Config, opts: SeedOptions): number {
  const id = chunkedJob(db, opts);
  for (let i = 0; i < opts.chunks; i++) chunkDone(db, id, i);
  db.finishStage(id, 'track', {});
  db.startStage(id, 'merge');
  mkdirSync(jobDir(config, id), { recursive: true });
  db.finishStage(id, 'merge', { bytes: 2 });
  db.startStage(id, 'emit');
  const file = join(config.outbox, db.getJob(id)!.output_name);
  writeFileSync(file, JSON.stringify({ schema: 'test', job: id }));
  db.finishStage(id, 'emit', { file, bytes: 0, sha256: '' });
  return id;
}
