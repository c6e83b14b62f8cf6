/**
 * What the job page's player reads (issue 12, part 5), from the preview stage's files:
 *
 * - GET /api/jobs/:id/player: the player's index (sizes, frame count, each window's first time, the
 *   tracks) and where the preview video is, or why there is none.
 * - GET /api/jobs/:id/frames?from=A&to=B: frames A..B-1 (at most MAX_FRAMES), each with its time
 *   and every person's track, box, score, 2D keypoints and (for the 3D view) 3D joints, camera
 *   translation and focal length. Only the windows holding them are read.
 * - GET /jobs/:id/preview.mp4: the video, with byte ranges (a browser seeks with them).
 *
 * A copy's player is its original's (the same content). Files are opened through openInside.
 */
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { JobRow } from '../db/index.ts';
import { jobDir } from '../paths.ts';
import { PLAYER_DIR, PREVIEW_FILE, type PlayerFrame, type PlayerIndex, type PreviewOutput } from '../stages/preview.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { openInside } from './job-files.ts';
import { jobOr404 } from './page-routes.ts';

/** The most frames one request may ask for: a window shown plus some ahead, never a whole long video. */
export const MAX_FRAMES = 1024;

/** The preview stage's record for this job (its original's, for a copy), or a 404 saying why there is none. */
function previewOf(deps: AppDeps, job: JobRow): { source: number; out: PreviewOutput } {
  const source = job.copy_of ?? job.id;
  const stage = deps.db.listStages(source).find((s) => s.name === 'preview');
  if (!stage) throw new HTTPException(404, { message: `Job ${job.id} was tracked before posepipe had a player: it has no preview` });
  if (stage.state !== 'done' || !stage.output_json) throw new HTTPException(404, { message: `Job ${job.id} has no player yet (its preview stage is ${stage.state})` });
  return { source, out: JSON.parse(stage.output_json) as PreviewOutput };
}

async function readJsonInside<T>(dir: string, path: string, what: string): Promise<T> {
  const file = await openInside(dir, path, what);
  try {
    return JSON.parse(await file.handle.readFile('utf8')) as T;
  } finally {
    await file.handle.close();
  }
}

const readIndex = (deps: AppDeps, source: number): Promise<PlayerIndex> =>
  readJsonInside<PlayerIndex>(jobDir(deps.config, source), `${PLAYER_DIR}/index.json`, `The player index of job ${source}`);

/** A whole number from the query within [min, max], or a 400 naming the parameter. */
function queryInt(c: Context<ServerEnv>, name: string, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || !/^(0|[1-9][0-9]{0,14})$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HTTPException(400, { message: `${name} must be a whole number from ${min} to ${max}` });
  }
  return Number(raw);
}

/** A Range header's single byte range, clamped to the file; undefined for none, 'bad' when it cannot be served. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'bad' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'bad';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

/** Register the player's routes. */
export function registerPlayerRoutes(app: Hono<ServerEnv>, deps: AppDeps): void {
  app.get('/api/jobs/:id/player', async (c) => {
    const job = jobOr404(deps.db, c.req.param('id'));
    const { source, out } = previewOf(deps, job);
    const index = await readIndex(deps, source);
    const preview = out.preview ? { url: `/jobs/${job.id}/preview.mp4`, width: out.preview.width, height: out.preview.height, firstFrameTime: out.preview.firstFrameTime } : null;
    c.header('Cache-Control', 'no-store');
    return c.json({ ...index, preview, reason: out.reason });
  });

  app.get('/api/jobs/:id/frames', async (c) => {
    const job = jobOr404(deps.db, c.req.param('id'));
    const { source } = previewOf(deps, job);
    const index = await readIndex(deps, source);
    const from = queryInt(c, 'from', 0, Math.max(0, index.frameCount - 1));
    const to = queryInt(c, 'to', from + 1, Math.min(index.frameCount, from + MAX_FRAMES));
    const dir = jobDir(deps.config, source);
    c.header('Cache-Control', 'no-store');
    if (from % index.windowFrames === 0 && to === Math.min(index.frameCount, from + index.windowFrames)) {
      // Exactly one window (what the player asks for): its file is already the frames' JSON, byte for byte.
      const file = await openInside(dir, `${PLAYER_DIR}/frames-${from / index.windowFrames}.json`, `Frames ${from}.. of job ${source}`);
      try {
        c.header('Content-Type', 'application/json');
        return c.body(`{"from":${from},"to":${to},"frames":${await file.handle.readFile('utf8')}}`);
      } finally {
        await file.handle.close();
      }
    }
    const frames: PlayerFrame[] = [];
    for (let k = Math.floor(from / index.windowFrames); k * index.windowFrames < to; k++) {
      const window = await readJsonInside<PlayerFrame[]>(dir, `${PLAYER_DIR}/frames-${k}.json`, `Frames ${k * index.windowFrames}.. of job ${source}`);
      for (const f of window) if (f.index >= from && f.index < to) frames.push(f);
    }
    return c.json({ from, to, frames });
  });

  app.get('/jobs/:id/preview.mp4', async (c) => {
    const job = jobOr404(deps.db, c.req.param('id'));
    const { source, out } = previewOf(deps, job);
    if (!out.preview) throw new HTTPException(404, { message: `Job ${job.id} has no preview video: ${out.reason ?? 'none was made'}` });
    const file = await openInside(jobDir(deps.config, source), PREVIEW_FILE, `The preview of job ${job.id}`);
    const range = byteRange(c.req.header('Range'), file.size);
    c.header('Content-Type', 'video/mp4');
    c.header('Accept-Ranges', 'bytes');
    c.header('Cache-Control', 'no-cache');
    if (range === 'bad') {
      await file.handle.close();
      c.header('Content-Range', `bytes */${file.size}`);
      return c.body(null, 416);
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    c.header('Content-Length', String(Math.max(0, end - start + 1)));
    if (range) c.header('Content-Range', `bytes ${start}-${end}/${file.size}`);
    if (file.size === 0) {
      await file.handle.close();
      return c.body(null, 200);
    }
    return c.body(Readable.toWeb(file.handle.createReadStream({ start, end })) as ReadableStream, range ? 206 : 200);
  });
}

