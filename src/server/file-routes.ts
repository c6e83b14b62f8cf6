/**
 * The routes that serve files: a done job's output JSON, a chunk's log and a thumbnail. Ids and
 * indexes are plain decimal integers (params.ts); logs and thumbnails are opened through
 * openInside, so nothing outside the job's folder is served, symlinks included.
 */
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { outputFormatOf } from '../db/index.ts';
import { jobDir } from '../paths.ts';
import { thumbnailFile } from '../pictures/index.ts';
import { chunkLogFile } from '../stages/track.ts';
import { jobView, sourceView } from '../views.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { openInside, openRegular, type OpenedFile } from './job-files.ts';
import { jobPictures } from './job-pictures.ts';
import { jobOr404 } from './page-routes.ts';
import { parseIndex } from './params.ts';
import { chunkNumber } from '../chunk-number.ts';

function send(c: Context<ServerEnv>, file: OpenedFile, type: string): Response {
  c.header('Content-Type', type);
  c.header('Content-Length', String(file.size));
  c.header('Cache-Control', 'no-store');
  return c.body(Readable.toWeb(file.handle.createReadStream()) as ReadableStream);
}

/** Register the output, log and thumbnail routes. */
export function registerFiles(app: Hono<ServerEnv>, deps: AppDeps): void {
  const { db, config } = deps;

  app.get('/api/jobs/:id/output', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    if (job.state !== 'done') throw new HTTPException(404, { message: `Job ${job.id} has no output yet (it is ${job.state})` });
    // The outbox file the emit stage recorded; never through a symlink someone put in its place.
    const file = await openRegular(jobView(db, config, job).outputPath!, `The output of job ${job.id}`);
    const encoded = encodeURIComponent(job.output_name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
    c.header('Content-Disposition', `inline; filename*=UTF-8''${encoded}`);
    // JSON Lines has no registered type; application/x-ndjson is the one streaming readers know.
    return send(c, file, outputFormatOf(job.output_name) === 'jsonl' ? 'application/x-ndjson' : 'application/json');
  });

  app.get('/jobs/:id/chunks/:idx/log', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    const idx = parseIndex(c.req.param('idx'), 'chunk');
    const chunk = db.getChunk(job.id, idx);
    if (!chunk) throw new HTTPException(404, { message: `Job ${job.id} has no chunk of index ${idx}` });
    const what = `The log of chunk ${chunkNumber(idx)} of job ${job.id}`;
    return send(c, await openInside(jobDir(config, job.id), chunkLogFile(chunk), what), 'text/plain; charset=utf-8');
  });

  app.get('/jobs/:id/thumbs/:file', async (c) => {
    const job = jobOr404(db, c.req.param('id'));
    const name = c.req.param('file');
    const frame = parseIndex(/^[0-9]+\.jpg$/.test(name) ? name.slice(0, -4) : undefined, 'thumbnail');
    const found = await jobPictures(config, { id: job.id, state: job.state, copyOf: job.copy_of }, sourceView(db, job.id));
    // A copy's thumbnails are its original's.
    const dir = jobDir(config, job.copy_of ?? job.id);
    const path = found && (await thumbnailFile(dir, found.sourceFile, frame, found.pictures));
    if (!path) throw new HTTPException(404, { message: `Job ${job.id} has no thumbnail of frame ${frame}` });
    return send(c, await openInside(dir, path, `The thumbnail of frame ${frame}`), 'image/jpeg');
  });
}
