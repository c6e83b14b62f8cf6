/**
 * The HTML pages: the jobs list and one job. With `X-Posepipe-Fragment: 1` a route answers only
 * its `<main>` element, which the page script swaps in on a change (no full reloads).
 */
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Db, JobRow } from '../db/index.ts';
import { jobPageView, jobSummaryView, workerViews } from '../views.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { jobMain, jobPage } from './job-page.ts';
import { picturesHtml } from './job-pictures.ts';
import { jobsMain, jobsPage, type JobsPageData } from './list-page.ts';
import { takeNotice } from './notice.ts';
import { parseChunkState, parseDir, parseIndex, parseJobState, parsePage, parseSearch, parseSort } from './params.ts';

/** Jobs per list page. */
export const JOBS_PER_PAGE = 50;
/** Chunks per page of a job's chunk table. */
export const CHUNKS_PER_PAGE = 100;
/** Chunks drawn in a job's grid. */
export const GRID_MAX = 2000;

/** A job by its URL id, or a 404. */
export function jobOr404(db: Db, raw: string | undefined): JobRow {
  const id = parseIndex(raw, 'job');
  const job = db.getJob(id);
  if (!job) throw new HTTPException(404, { message: `No job ${id}` });
  return job;
}

/** What a list request asks for, as it came in the URL (each checked by readJobsPage). */
export interface JobsPageQuery {
  state: string | undefined;
  page: string | undefined;
  q?: string | undefined;
  sort?: string | undefined;
  dir?: string | undefined;
  limit: number;
}

/** One page of the jobs list, read with one grouped query (never a job's chunk rows). */
export function readJobsPage(db: Db, opts: JobsPageQuery): JobsPageData {
  const state = parseJobState(opts.state);
  const search = parseSearch(opts.q);
  const sort = parseSort(opts.sort);
  const dir = parseDir(opts.dir, sort);
  const counts = db.countJobsByState();
  // The tabs count what the search matches; `counts` stays every job's (the title, "Resume all failed").
  const matching = search ? db.countJobsByState(search) : counts;
  const total = state ? matching[state] : Object.values(matching).reduce((a, b) => a + b, 0);
  const pages = Math.max(1, Math.ceil(total / opts.limit));
  const page = Math.min(parsePage(opts.page), pages);
  const now = Date.now();
  const positions = db.queuePositions();
  const jobs = db.listJobSummaries({ state, search, sort, dir, limit: opts.limit, offset: (page - 1) * opts.limit, now }).map((r) => jobSummaryView(r, positions, now));
  return { jobs, state, search, sort, dir, page, pages, total, counts, matching, intakePaused: db.intakePaused(), workers: workerViews(db), redisDownSince: db.redisDownSince(), queuePausedSince: db.queuePausedSince() };
}

/** The list parameters of a request's URL. */
export function listQueryOf(c: Context<ServerEnv>, limit: number): JobsPageQuery {
  return { state: c.req.query('state'), page: c.req.query('page'), q: c.req.query('q'), sort: c.req.query('sort'), dir: c.req.query('dir'), limit };
}

/** The whole page, or only its `<main>` for the live update; never cached, since it is live. */
function respond(c: Context<ServerEnv>, stamp: string, main: () => string, page: () => string): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Vary', 'X-Posepipe-Fragment');
  if (c.req.header('x-posepipe-fragment') === '1') {
    c.header('X-Posepipe-Stamp', stamp);
    return c.html(main());
  }
  return c.html(page());
}

/** Register `/` and `/jobs/:id`. */
export function registerPages(app: Hono<ServerEnv>, deps: AppDeps): void {
  app.get('/', (c) => {
    // The stamp is read first: a change made while the page is read shows up as a later change.
    const stamp = deps.db.changeStamp();
    const data = readJobsPage(deps.db, listQueryOf(c, JOBS_PER_PAGE));
    const who = c.get('who');
    // A viewer cannot upload: no drop box for them.
    return respond(c, stamp, () => jobsMain(data), () => jobsPage(data, stamp, who?.role === 'viewer' ? 0 : deps.config.uploadMaxMb, who, takeNotice(c)));
  });

  app.get('/jobs/:id', async (c) => {
    const stamp = deps.db.changeStamp();
    const job = jobOr404(deps.db, c.req.param('id'));
    const chunkState = parseChunkState(c.req.query('chunkState'));
    const view = jobPageView(deps.db, deps.config, job, { chunkState, chunkPage: parsePage(c.req.query('chunkPage')), perPage: CHUNKS_PER_PAGE, gridMax: GRID_MAX });
    const extras = { picturesHtml: await picturesHtml(deps.config, view), now: Date.now() };
    return respond(c, stamp, () => jobMain(view, extras), () => jobPage(view, extras, stamp, c.get('who'), takeNotice(c)));
  });
}
