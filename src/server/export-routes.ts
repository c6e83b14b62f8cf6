/**
 * GET /api/jobs/:id/export/:format[?track=N&track=M]: one export of a done job's output (src/exports),
 * streamed as it is made (memory flat in the video's length), as an attachment named as the CLI
 * names the file. Unknown format 404; a job not done 404 (like its output); a format its backend
 * does not give, or a track it does not have, 400 saying why. A format of one file a track (smpl,
 * bvh) comes as a zip of them, made in a folder of the job's that is removed once it is sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ExportError, exportFileName, exportFormat, FORMAT_NAMES, OutputReadError, prepareExport, writeTrackFiles, zipStream } from '../exports/index.ts';
import { jobDir } from '../paths.ts';
import { jobView } from '../views.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { openRegular } from './job-files.ts';
import { jobOr404 } from './page-routes.ts';

/** `attachment` with the name in RFC 5987 form, so any file name survives. */
function attachment(name: string): string {
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}

/** Text pieces as a byte stream, gathered into writes of about 64 KiB; a client that goes away stops the reading. */
function byteStream(pieces: AsyncIterable<string>, close: () => Promise<void>): ReadableStream<Uint8Array> {
  const it = pieces[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let text = '';
      while (text.length < 1 << 16) {
        const next = await it.next();
        if (next.done) {
          if (text) controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += next.value;
      }
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      // A generator never started does not run its cleanup on return(): close the file too.
      await it.return?.();
      await close();
    },
  });
}

/** Bytes as a stream; a client that goes away stops the reading (and so the zip's clean-up runs). */
function bufferStream(pieces: AsyncGenerator<Buffer>, done: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await pieces.next();
        if (next.done) {
          controller.close();
          done();
        } else controller.enqueue(next.value);
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    async cancel() {
      await pieces.return(undefined);
      done();
    },
  });
}

/** Register the export route. */
export function registerExportRoutes(app: Hono<ServerEnv>, deps: AppDeps): void {
  app.get('/api/jobs/:id/export/:format', async (c) => {
    const job = jobOr404(deps.db, c.req.param('id'));
    const name = c.req.param('format');
    const format = exportFormat(name);
    if (!format) throw new HTTPException(404, { message: `No export format ${JSON.stringify(name.slice(0, 40))}: there are ${FORMAT_NAMES}` });
    if (job.state !== 'done') throw new HTTPException(404, { message: `Job ${job.id} has no output to export yet (it is ${job.state})` });
    const tracks: number[] = [];
    for (const t of c.req.queries('track') ?? []) {
      if (!/^[1-9][0-9]{0,8}$/.test(t)) throw new HTTPException(400, { message: 'track must be a track id (a whole number from 1)' });
      tracks.push(Number(t));
    }
    const view = jobView(deps.db, deps.config, job);
    // Refuse a symlink or a non-file planted at the output's name before reading it.
    await (await openRegular(view.outputPath!, `The output of job ${job.id}`)).handle.close();
    if (format.layout === 'per track') {
      const folder = mkdtempSync(join(jobDir(deps.config, job.id), 'export-'));
      const clean = () => rmSync(folder, { recursive: true, force: true });
      let files: string[];
      try {
        files = await writeTrackFiles(view.outputPath!, job.output_name, view.settings, format, tracks, folder, { python: deps.config.python });
      } catch (error) {
        clean();
        if (error instanceof ExportError) throw new HTTPException(400, { message: `Job ${job.id}: ${error.message}` });
        if (error instanceof OutputReadError) throw new HTTPException(500, { message: error.message });
        throw error;
      }
      c.header('Content-Type', 'application/zip');
      c.header('Content-Disposition', attachment(`${job.output_name.replace(/\.jsonl?$/, '')}.${format.name}.zip`));
      c.header('Cache-Control', 'no-store');
      return c.body(bufferStream(zipStream(files.map((path) => ({ name: basename(path), path }))), clean));
    }
    let prepared;
    try {
      prepared = await prepareExport(view.outputPath!, view.settings, format.name, tracks);
    } catch (error) {
      if (error instanceof ExportError) throw new HTTPException(400, { message: `Job ${job.id}: ${error.message}` });
      if (error instanceof OutputReadError) throw new HTTPException(500, { message: error.message });
      throw error;
    }
    c.header('Content-Type', format.contentType);
    c.header('Content-Disposition', attachment(exportFileName(job.output_name, format, tracks)));
    c.header('Cache-Control', 'no-store');
    return c.body(byteStream(prepared.pieces, prepared.close));
  });
}
