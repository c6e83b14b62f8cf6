import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config.ts';
import { StateConflictError, type Db } from '../db/index.ts';
import { jobView } from '../views.ts';
import { jobPage, jobsPage } from './page.ts';

/** What the app reads and whom it tells about a resume. */
export interface AppDeps {
  db: Db;
  config: Config;
  /** The Host header values this server answers to (DNS-rebinding defence). */
  allowedHosts: () => string[];
  onResume?: (jobId: number) => void;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The status page and its JSON API. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();

  // Refuse a foreign Host before routing: a rebinding page would send its own name.
  app.use('*', async (c, next) => {
    const host = c.req.header('host') ?? '';
    if (!deps.allowedHosts().includes(host.toLowerCase())) throw new HTTPException(403, { message: `Host ${JSON.stringify(host)} is not served here` });
    // Cross-site unsafe requests are refused whatever their content type, with or without a body.
    if (UNSAFE.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const sameOrigin = origin !== undefined ? origin === `http://${host}` : site === undefined || site === 'same-origin' || site === 'none';
      if (!sameOrigin || (site !== undefined && site !== 'same-origin' && site !== 'none')) throw new HTTPException(403, { message: 'Cross-site request refused' });
    }
    await next();
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });

  const jobOr404 = (id: string) => {
    const job = /^\d{1,15}$/.test(id) ? deps.db.getJob(Number(id)) : undefined;
    if (!job) throw new HTTPException(404, { message: `No job ${JSON.stringify(id)}` });
    return job;
  };

  app.get('/', (c) => c.html(jobsPage(deps.db.listJobs().map((j) => jobView(deps.db, deps.config, j)))));
  app.get('/jobs/:id', (c) => c.html(jobPage(jobView(deps.db, deps.config, jobOr404(c.req.param('id'))))));
  app.get('/api/jobs', (c) => c.json({ jobs: deps.db.listJobs().map((j) => jobView(deps.db, deps.config, j)) }));
  app.get('/api/jobs/:id', (c) => c.json(jobView(deps.db, deps.config, jobOr404(c.req.param('id')))));
  app.get('/api/jobs/:id/output', (c) => {
    const view = jobView(deps.db, deps.config, jobOr404(c.req.param('id')));
    if (view.state !== 'done' || !existsSync(view.outputPath)) throw new HTTPException(404, { message: `Job ${view.id} has no output yet` });
    c.header('Content-Type', 'application/json');
    return c.body(Readable.toWeb(createReadStream(view.outputPath)) as ReadableStream);
  });
  app.post('/api/jobs/:id/resume', (c) => {
    const job = jobOr404(c.req.param('id'));
    try {
      deps.db.resumeJob(job.id);
    } catch (error) {
      if (error instanceof StateConflictError) return c.json({ error: `job ${job.id} is not failed (it is ${deps.db.getJob(job.id)!.state})` }, 409);
      throw error;
    }
    deps.onResume?.(job.id);
    // A form post from the page goes back to it; an API client gets JSON.
    if ((c.req.header('accept') ?? '').includes('text/html')) return c.redirect(`/jobs/${job.id}`, 303);
    return c.json({ id: job.id, state: 'queued' });
  });

  app.notFound((c) => c.json({ error: 'Not found' }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);
    console.error(error);
    return c.json({ error: 'Internal error' }, 500);
  });
  return app;
}
