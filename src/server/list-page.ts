/**
 * The jobs list (`/`): filter tabs with counts, a file name search and a sort (plain GET links and
 * a form, so they work without the script), one row per job from the summary view (no chunk rows
 * are read), a pager, and the intake switch.
 */
import { JOB_SORTS, JOB_STATES, type JobSort, type JobState } from '../db/index.ts';
import { resumeHelps } from '../errors.ts';
import type { JobSummaryView, WorkerView } from '../views.ts';
import type { Who } from './auth/role.ts';
import { actionButton, badge, cancelQuestion, duration, escapeHtml, fileName, firstLine, layout, pager, progressBar, queueNote, stageText } from './page.ts';
import { bulkBar, selectBox } from './admin-markup.ts';
import { VIDEO_EXTENSIONS } from '../watcher/index.ts';
import { defaultDir, query, SEARCH_MAX } from './params.ts';
import { chunkNumber } from '../chunk-number.ts';

/** One page of the list, as the route read it. */
export interface JobsPageData {
  jobs: JobSummaryView[];
  state: JobState | undefined;
  /** The file name search (undefined: none). */
  search: string | undefined;
  sort: JobSort;
  dir: 'asc' | 'desc';
  page: number;
  pages: number;
  total: number;
  /** Every job, by state. */
  counts: Record<JobState, number>;
  /** The jobs the search matches, by state (the same as counts without a search): the tabs' numbers. */
  matching: Record<JobState, number>;
  intakePaused: boolean;
  /** The tracker slots, with their health and what each tracks. */
  workers: WorkerView[];
  /** Since when remote dispatch has waited for Redis (undefined: it has not). */
  redisDownSince?: number;
  /** Since when the queue has been found paused in Redis (undefined: it is not). */
  queuePausedSince?: number;
}

const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;

/** A slot's load error: its first line, and the backend's stderr (its traceback) folded under it. */
function slotError(error: string | null): string {
  if (!error) return '';
  const at = error.indexOf('\n');
  if (at < 0) return ` <span class="muted">${escapeHtml(firstLine(error))}</span>`;
  return ` <details class="slot-error"><summary class="muted">${escapeHtml(firstLine(error))}</summary><pre>${escapeHtml(error.slice(at + 1))}</pre></details>`;
}

/** The tracker slots: health (with the load error of an unhealthy one), the chunk each tracks, frames/s. */
function workersTable(workers: WorkerView[]): string {
  if (workers.length === 0) return '';
  const rows = workers.map((w) => {
    const health = `<span class="badge s-${w.health === 'unhealthy' ? 'failed' : w.health === 'ready' ? 'done' : 'pending'}">${escapeHtml(w.health)}</span>${slotError(w.error)}`;
    const current = w.current ? `<a href="/jobs/${w.current.jobId}#chunk-${w.current.chunk}">job ${w.current.jobId}, chunk ${chunkNumber(w.current.chunk)}</a>` : '<span class="muted">–</span>';
    const seen = new Date(w.lastSeenMs).toISOString().replace('T', ' ').slice(0, 19);
    return `<tr data-worker="${escapeHtml(w.name)}" data-health="${escapeHtml(w.health)}"><td>${escapeHtml(w.name)}</td><td>${escapeHtml(w.host)}</td><td>${escapeHtml(w.device ?? '–')}</td><td>${health}</td><td>${current}</td><td class="num">${w.framesPerSecond ?? '–'}</td><td class="muted">${seen} UTC</td></tr>`;
  });
  return `<h2>Tracker slots</h2>
<div class="scroll"><table id="workers"><thead><tr><th>Slot</th><th>Host</th><th>Device</th><th>Health</th><th>Tracking</th><th class="num">Frames/s</th><th>Last seen</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

/** A link to the list as `d` shows it, with some of it changed; defaults are left out of the URL. */
function listHref(d: JobsPageData, change: { state?: JobState | undefined; search?: undefined; sort?: JobSort; dir?: 'asc' | 'desc'; page?: number } = {}): string {
  const state = 'state' in change ? change.state : d.state;
  const q = 'search' in change ? undefined : d.search;
  const sort = change.sort ?? d.sort;
  const dir = change.dir ?? (change.sort ? defaultDir(change.sort) : d.dir);
  return `/${query({ state, q, sort: sort === 'created' ? undefined : sort, dir: dir === defaultDir(sort) ? undefined : dir, page: change.page })}`;
}

function tabs(d: JobsPageData): string {
  const all = Object.values(d.matching).reduce((a, b) => a + b, 0);
  const tab = (filter: string, label: string, n: number) => {
    const current = (filter === 'all' && !d.state) || filter === d.state;
    const href = listHref(d, { state: filter === 'all' ? undefined : (filter as JobState) });
    return `<a data-filter="${filter}" class="s-${filter}" href="${escapeHtml(href)}"${current ? ' aria-current="page"' : ''}>${label}<span class="n">${n.toLocaleString('en')}</span></a>`;
  };
  return `<nav class="tabs">${tab('all', 'All', all)}${JOB_STATES.map((s) => tab(s, s[0]!.toUpperCase() + s.slice(1), d.matching[s])).join('')}</nav>`;
}

const SORT_LABELS: Record<JobSort, string> = { created: 'Created', finished: 'Finished', name: 'File name', state: 'State' };

/**
 * Search by file name and sort, as a GET form (the page script submits it when a select changes).
 * It keeps its node across live updates (data-keep), so what is being typed is never replaced.
 */
function searchForm(d: JobsPageData): string {
  const options = JOB_SORTS.map((s) => `<option value="${s}"${s === d.sort ? ' selected' : ''}>${SORT_LABELS[s]}</option>`).join('');
  const dirs = (['desc', 'asc'] as const).map((x) => `<option value="${x}"${x === d.dir ? ' selected' : ''}>${x === 'desc' ? 'descending' : 'ascending'}</option>`).join('');
  const clear = d.search ? ` <a href="${escapeHtml(listHref(d, { search: undefined }))}" id="search-clear">Clear search</a>` : '';
  const state = d.state ? `<input type="hidden" name="state" value="${escapeHtml(d.state)}">` : '';
  return `<form id="list-search" data-keep="list-search" class="row" method="get" action="/" role="search">${state}<input type="search" name="q" value="${escapeHtml(d.search ?? '')}" maxlength="${SEARCH_MAX}" placeholder="Search file names" aria-label="Search file names">
<label>Sort by <select name="sort">${options}</select></label> <select name="dir" aria-label="Sort direction">${dirs}</select> <button type="submit">Search</button>${clear}</form>`;
}

/** A column heading that sorts by `sort`: first its own direction, then the other way at each click. */
function sortHeading(d: JobsPageData, sort: JobSort, label: string): string {
  const current = d.sort === sort;
  const dir = current ? (d.dir === 'asc' ? 'desc' : 'asc') : defaultDir(sort);
  const mark = current ? (d.dir === 'asc' ? ' ▲' : ' ▼') : '';
  return `<th data-sort="${sort}"${current ? ` aria-sort="${d.dir === 'asc' ? 'ascending' : 'descending'}"` : ''}><a href="${escapeHtml(listHref(d, { sort, dir }))}">${label}${mark}</a></th>`;
}

/** A time as `YYYY-MM-DD HH:MM UTC`; the page script rewrites it in the reader's own time zone. */
function when(ms: number | null): string {
  if (ms === null) return '';
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}" data-local title="${iso.replace('T', ' ').slice(0, 19)} UTC">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

function intake(d: JobsPageData, back: string): string {
  const button = d.intakePaused
    ? actionButton({ action: 'unpause', url: '/api/intake/unpause', label: 'Unpause intake', back })
    : actionButton({ action: 'pause', url: '/api/intake/pause', label: 'Pause intake', back, title: 'No queued job starts while paused; the running one goes on' });
  const text = d.intakePaused
    ? '<strong>Intake is paused.</strong> New videos are queued but none starts until you unpause.'
    : '<strong>Intake is running.</strong> Queued videos start in order, highest priority first.';
  return `<div class="banner row${d.intakePaused ? ' paused' : ''}" id="intake" data-paused="${d.intakePaused}"><span class="grow">${text}</span>${button}</div>`;
}

function row(j: JobSummaryView, back: string): string {
  const actions: string[] = [];
  // Bad input resumed reads the same bytes: no Resume, unless a limit setting refused it.
  if (j.state === 'cancelled' || (j.state === 'failed' && resumeHelps(j.error))) actions.push(actionButton({ action: 'resume', url: `/api/jobs/${j.id}/resume`, label: 'Resume', back }));
  if ((j.state === 'queued' || j.state === 'running') && !j.cancelRequested) actions.push(actionButton({ action: 'cancel', url: `/api/jobs/${j.id}/cancel`, label: 'Cancel', back, confirm: cancelQuestion(j) }));
  if (j.state === 'queued' || j.state === 'running') actions.push(actionButton({ action: 'priority', url: `/api/jobs/${j.id}/priority`, label: 'To front', back, title: 'Run this job before every other: its chunks get the next free slot' }));
  const priority = j.priority !== 0 && (j.state === 'queued' || j.state === 'running') ? ` <span class="muted" data-priority="${j.priority}">priority ${j.priority}</span>` : '';
  const copy = j.copyOf !== null ? ` <span class="muted" data-copy-of="${j.copyOf}">same content as <a href="/jobs/${j.copyOf}">job ${j.copyOf}</a></span>` : '';
  const state = `${badge(j.state)}${queueNote(j)}${j.cancelRequested ? ' <span class="muted">cancelling…</span>' : ''}${priority}${copy}`;
  const error = j.error ? `<span class="kind">${escapeHtml(j.error.kind)}</span>${escapeHtml(firstLine(j.error.text))}` : '';
  const chunks = j.chunks ? `<div class="muted">${j.chunksDone}/${j.chunks} chunks${j.chunksFailed ? `, ${j.chunksFailed} failed` : ''}</div>` : '';
  // data-label names each cell where a narrow screen stacks them (the header row is hidden there).
  return `<tr data-job="${j.id}" data-state="${escapeHtml(j.state)}"><td class="num id">${selectBox(j)} <a href="/jobs/${j.id}">${j.id}</a></td>
<td class="name"><a href="/jobs/${j.id}">${fileName(j.name)}</a></td><td data-label="State">${state}</td><td data-label="Stage">${escapeHtml(stageText(j))}</td>
<td data-label="Frames">${progressBar(j.framesDone, j.frames, { state: j.state })}${chunks}</td><td class="num" data-label="Time">${duration(j.seconds)}</td><td class="when" data-label="Created">${when(j.createdMs)}</td><td class="when${j.finishedMs === null ? ' blank' : ''}" data-label="Finished">${when(j.finishedMs)}</td><td data-label="Error"${error ? '' : ' class="blank"'}>${error}</td><td data-label="Actions"${actions.length ? '' : ' class="blank"'}>${actions.join(' ')}</td></tr>`;
}

/** The list's `<main>` element: what the live update swaps in. */
export function jobsMain(d: JobsPageData): string {
  const back = listHref(d, { page: d.page });
  const none = `No ${d.state ? `${d.state} ` : ''}jobs`;
  const empty = d.search ? `${none} with “${escapeHtml(d.search)}” in the file name.` : d.total === 0 && !d.state ? 'No jobs yet: drop a video into the inbox.' : `${none}.`;
  const rows = d.jobs.map((j) => row(j, back)).join('\n') || `<tr><td colspan="10" class="muted">${empty}</td></tr>`;
  const nav = pager({ page: d.page, pages: d.pages, total: d.total, noun: d.total === 1 ? 'job' : 'jobs', href: (p) => listHref(d, { page: p }) });
  return `<main data-page="jobs"${d.state ? ` data-filter="${d.state}"` : ''}>
${intake(d, back)}
${d.redisDownSince === undefined ? '' : `<div class="banner row paused" id="redis-down"><span class="grow"><strong>Remote workers wait:</strong> Redis has not answered since ${utc(d.redisDownSince)}. Local slots go on; pending chunks are offered again when it is back.</span></div>`}
${d.queuePausedSince === undefined ? '' : `<div class="banner row paused" id="queue-paused"><span class="grow"><strong>Remote workers wait:</strong> the queue posepipe-chunks has been paused in Redis since ${utc(d.queuePausedSince)}, not by posepipe (someone with access to Redis did it). Local slots go on; remote workers take chunks again once it is resumed (BullMQ's queue.resume(), or restart posepipe start, which resumes it).</span></div>`}
<h1>Jobs</h1>${tabs(d)}
${searchForm(d)}
<div class="scroll"><table id="jobs"${d.search ? ` data-search="${escapeHtml(d.search)}"` : ''} data-sort="${d.sort}" data-dir="${d.dir}"><thead><tr><th class="num">#</th>${sortHeading(d, 'name', 'File')}${sortHeading(d, 'state', 'State')}<th>Stage</th><th>Frames</th><th class="num">Time</th>${sortHeading(d, 'created', 'Created')}${sortHeading(d, 'finished', 'Finished')}<th>Error</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></div>
${bulkBar({ back, failed: d.counts.failed, any: d.jobs.length > 0 })}
${nav}
${workersTable(d.workers)}
</main>`;
}

/** The whole list page. */
export function jobsPage(d: JobsPageData, stamp: string, uploadMaxMb = 0, who?: Who, notice?: string): string {
  const active = d.counts.running + d.counts.queued;
  return layout(active ? `posepipe (${d.counts.running} running, ${d.counts.queued} queued)` : 'posepipe', `${uploadBox(uploadMaxMb)}${jobsMain(d)}`, stamp, { who, notice });
}

/**
 * Drop videos on the page (or pick them) to upload them into the inbox: outside `<main>`, so the
 * live update never replaces it mid-upload. The page script does the uploads (POST /api/upload),
 * one line per file with its progress and its outcome; without the script the box says to use the
 * inbox folder. The extensions let the script refuse a non-video before sending a byte.
 */
function uploadBox(uploadMaxMb: number): string {
  if (uploadMaxMb <= 0) return '';
  const most = uploadMaxMb >= 1024 ? `${Math.round((uploadMaxMb / 1024) * 10) / 10} GiB` : `${uploadMaxMb} MiB`;
  return `<section id="upload" class="banner row" data-max-bytes="${uploadMaxMb * 1024 * 1024}" data-max-text="${escapeHtml(most)}" data-extensions="${escapeHtml(VIDEO_EXTENSIONS.join(' '))}"><label class="grow" for="upload-file"><strong>Add videos:</strong> drop them anywhere on this page, or <input type="file" id="upload-file" accept="video/*,${escapeHtml(VIDEO_EXTENSIONS.join(','))}" multiple> (at most ${escapeHtml(most)} each; they go into the inbox).</label><span id="upload-status" class="muted" role="status"></span><ul id="upload-list" aria-live="polite"></ul></section>
`;
}
