/**
 * The jobs list (`/`): filter tabs with counts, one row per job from the summary view (no chunk
 * rows are read), a pager, and the intake switch.
 */
import { JOB_STATES, type JobState } from '../db/index.ts';
import { resumeHelps } from '../errors.ts';
import type { JobSummaryView, WorkerView } from '../views.ts';
import type { Who } from './auth/role.ts';
import { actionButton, badge, cancelQuestion, duration, escapeHtml, fileName, firstLine, layout, pager, progressBar, queueNote, stageText } from './page.ts';
import { bulkBar, selectBox } from './admin-markup.ts';
import { VIDEO_EXTENSIONS } from '../watcher/index.ts';
import { query } from './params.ts';

/** One page of the list, as the route read it. */
export interface JobsPageData {
  jobs: JobSummaryView[];
  state: JobState | undefined;
  page: number;
  pages: number;
  total: number;
  counts: Record<JobState, number>;
  intakePaused: boolean;
  /** The tracker slots, with their health and what each tracks. */
  workers: WorkerView[];
  /** Since when remote dispatch has waited for Redis (undefined: it has not). */
  redisDownSince?: number;
  /** Since when the queue has been found paused in Redis (undefined: it is not). */
  queuePausedSince?: number;
}

const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;

/** The tracker slots: health (with the load error of an unhealthy one), the chunk each tracks, frames/s. */
function workersTable(workers: WorkerView[]): string {
  if (workers.length === 0) return '';
  const rows = workers.map((w) => {
    const health = `<span class="badge s-${w.health === 'unhealthy' ? 'failed' : w.health === 'ready' ? 'done' : 'pending'}">${escapeHtml(w.health)}</span>${w.error ? ` <span class="muted">${escapeHtml(firstLine(w.error))}</span>` : ''}`;
    const current = w.current ? `<a href="/jobs/${w.current.jobId}#chunk-${w.current.chunk}">job ${w.current.jobId}, chunk ${w.current.chunk}</a>` : '<span class="muted">–</span>';
    const seen = new Date(w.lastSeenMs).toISOString().replace('T', ' ').slice(0, 19);
    return `<tr data-worker="${escapeHtml(w.name)}" data-health="${escapeHtml(w.health)}"><td>${escapeHtml(w.name)}</td><td>${escapeHtml(w.host)}</td><td>${escapeHtml(w.device ?? '–')}</td><td>${health}</td><td>${current}</td><td class="num">${w.framesPerSecond ?? '–'}</td><td class="muted">${seen} UTC</td></tr>`;
  });
  return `<h2>Tracker slots</h2>
<div class="scroll"><table id="workers"><thead><tr><th>Slot</th><th>Host</th><th>Device</th><th>Health</th><th>Tracking</th><th class="num">Frames/s</th><th>Last seen</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function tabs(d: JobsPageData): string {
  const all = Object.values(d.counts).reduce((a, b) => a + b, 0);
  const tab = (filter: string, label: string, n: number) => {
    const current = (filter === 'all' && !d.state) || filter === d.state;
    const href = `/${query({ state: filter === 'all' ? undefined : filter })}`;
    return `<a data-filter="${filter}" class="s-${filter}" href="${escapeHtml(href)}"${current ? ' aria-current="page"' : ''}>${label}<span class="n">${n.toLocaleString('en')}</span></a>`;
  };
  return `<nav class="tabs">${tab('all', 'All', all)}${JOB_STATES.map((s) => tab(s, s[0]!.toUpperCase() + s.slice(1), d.counts[s])).join('')}</nav>`;
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
<td data-label="Frames">${progressBar(j.framesDone, j.frames, { state: j.state })}${chunks}</td><td class="num" data-label="Time">${duration(j.seconds)}</td><td data-label="Error"${error ? '' : ' class="blank"'}>${error}</td><td data-label="Actions"${actions.length ? '' : ' class="blank"'}>${actions.join(' ')}</td></tr>`;
}

/** The list's `<main>` element: what the live update swaps in. */
export function jobsMain(d: JobsPageData): string {
  const back = `/${query({ state: d.state, page: d.page })}`;
  const empty = d.total === 0 && !d.state ? 'No jobs yet: drop a video into the inbox.' : `No ${escapeHtml(d.state ?? '')} jobs.`;
  const rows = d.jobs.map((j) => row(j, back)).join('\n') || `<tr><td colspan="8" class="muted">${empty}</td></tr>`;
  const nav = pager({ page: d.page, pages: d.pages, total: d.total, noun: d.total === 1 ? 'job' : 'jobs', href: (p) => `/${query({ state: d.state, page: p })}` });
  return `<main data-page="jobs"${d.state ? ` data-filter="${d.state}"` : ''}>
${intake(d, back)}
${d.redisDownSince === undefined ? '' : `<div class="banner row paused" id="redis-down"><span class="grow"><strong>Remote workers wait:</strong> Redis has not answered since ${utc(d.redisDownSince)}. Local slots go on; pending chunks are offered again when it is back.</span></div>`}
${d.queuePausedSince === undefined ? '' : `<div class="banner row paused" id="queue-paused"><span class="grow"><strong>Remote workers wait:</strong> the queue posepipe-chunks has been paused in Redis since ${utc(d.queuePausedSince)}, not by posepipe (someone with access to Redis did it). Local slots go on; remote workers take chunks again once it is resumed (BullMQ's queue.resume(), or restart posepipe start, which resumes it).</span></div>`}
<h1>Jobs</h1>${tabs(d)}
<div class="scroll"><table id="jobs"><thead><tr><th class="num">#</th><th>File</th><th>State</th><th>Stage</th><th>Frames</th><th class="num">Time</th><th>Error</th><th></th></tr></thead>
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
