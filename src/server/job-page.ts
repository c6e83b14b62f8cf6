/**
 * One job's page (`/jobs/:id`): name, state and actions, a progress bar, live progress while it
 * runs, the stage timeline, the source's facts, pictures once done, and its chunks.
 */
import { STAGE_NAMES } from '../db/index.ts';
import { formatsGiven, settingsFacts } from '../exports/index.ts';
import { resumeHelps } from '../errors.ts';
import type { JobPageView, StageView } from '../views.ts';
import type { Who } from './auth/role.ts';
import { adminButtons, settingsLine } from './admin-markup.ts';
import { chunkGrid, chunkTable } from './job-chunks.ts';
import { actionButton, badge, cancelQuestion, duration, errorBlock, escapeHtml, fileName, layout, progressBar, queueNote, size } from './page.ts';
import { query } from './params.ts';
import { chunkNumber } from '../chunk-number.ts';

/** What the job page shows besides the view: the pictures (done jobs) and the current time. */
export interface JobPageExtras {
  /** HTML from src/pictures (thumbnail strip and track timeline), or '' when there are none. */
  picturesHtml: string;
  now: number;
}

/**
 * Links to the exports the job's backend gives (each a download, made as it is fetched). A job from
 * before settings were recorded gets the formats every backend gives.
 */
function exportLinks(j: JobPageView['job']): string {
  const formats = formatsGiven(j.settings ? settingsFacts(j.settings) : { backend: 'unknown', keypoints2d: false, smpl: false });
  const links = formats.map((f) => `<a data-export="${f.name}" href="/api/jobs/${j.id}/export/${f.name}" download title="${escapeHtml(f.title)}">${f.name}</a>`);
  return `<span class="exports" data-exports>Export: ${links.join(' ')}</span>`;
}

function actions(v: JobPageView, back: string): string {
  const j = v.job;
  const out: string[] = [];
  // Bad input resumed reads the same bytes: no Resume, unless a limit setting refused it.
  if (j.state === 'cancelled' || (j.state === 'failed' && resumeHelps(j.error))) out.push(actionButton({ action: 'resume', url: `/api/jobs/${j.id}/resume`, label: 'Resume', back, title: 'Queue it again at the first unfinished stage and chunk' }));
  if ((j.state === 'queued' || j.state === 'running') && !j.cancelRequested) out.push(actionButton({ action: 'cancel', url: `/api/jobs/${j.id}/cancel`, label: 'Cancel', back, confirm: cancelQuestion(j) }));
  if (j.state === 'queued' || j.state === 'running') out.push(actionButton({ action: 'priority', url: `/api/jobs/${j.id}/priority`, label: 'To front', back, title: 'Run this job before every other: its chunks get the next free slot' }));
  if (j.cancelRequested) out.push('<span class="muted">cancel requested; it stops within a few seconds</span>');
  if (j.state === 'done') out.push(`<a data-output href="/api/jobs/${j.id}/output">Output JSON (${escapeHtml(j.output)})</a>`, exportLinks(j));
  const admin = adminButtons(j, back);
  if (admin) out.push(admin);
  return out.join(' ');
}

/** Where the job is in its stages, in words; the stage's name in code type (the first one is called "stage"). */
function where(j: JobPageView['job']): string {
  if (j.stage === null || j.state === 'done') return '';
  const place = j.queuePosition !== null ? `#${j.queuePosition} in queue · ` : '';
  if (j.phase === 'ready') return `ready: copied, probed and chunked, it waits for a free tracker slot · ${place}`;
  if (j.phase === 'preparing') return `preparing ahead of a free slot: at stage <code>${escapeHtml(j.stage)}</code> · ${place}`;
  if (j.startedMs === null) return j.state === 'queued' ? `waiting to start · ${place}` : 'never started · ';
  const at = j.state === 'running' ? 'at' : j.state === 'queued' ? 'goes on at' : 'stopped at';
  return `${at} stage <code>${escapeHtml(j.stage)}</code> · ${place}`;
}

function progress(v: JobPageView): string {
  const j = v.job;
  if (j.frames !== null) return progressBar(j.framesDone, j.frames, { id: 'job-progress', state: j.state, big: true });
  // Before chunking the frames are not known: count stages instead.
  const done = j.stages.filter((s) => s.state === 'done').length;
  return `<span class="bar"><progress id="job-progress" class="big s-${escapeHtml(j.state)}" value="${done}" max="${STAGE_NAMES.length}"></progress><span class="mono">stage ${done}/${STAGE_NAMES.length}</span></span>`;
}

function live(v: JobPageView, now: number): string {
  const j = v.job;
  if (j.state !== 'running') return '';
  const parts = [`Running <strong>${escapeHtml(j.stage ?? '')}</strong>`];
  for (const c of v.running) parts.push(`chunk ${chunkNumber(c.index)} of ${j.chunks}: frame ${c.framesDone}/${c.frameCount}`);
  if (j.chunks) parts.push(`${j.chunksDone}/${j.chunks} chunks done`);
  if (j.startedMs !== null) parts.push(`running for ${duration((now - j.startedMs) / 1000)}`);
  // The tracker's own pace so far (its busy seconds per frame of finished chunks) gives an estimate.
  const finishedFrames = v.grid.filter((c) => c.state === 'done').reduce((n, c) => n + c.frameCount, 0);
  if (j.frames !== null && j.trackerSeconds > 0 && finishedFrames > 0) parts.push(`about ${duration(((j.frames - j.framesDone) * j.trackerSeconds) / finishedFrames)} of tracking left`);
  return `<p id="live" class="muted">${parts.join(' · ')}</p>`;
}

function timeline(stages: StageView[], now: number, jobError: string | undefined): string {
  const starts = stages.map((s) => s.startedMs).filter((t): t is number => t !== null);
  const t0 = starts.length ? Math.min(...starts) : now;
  const ends = stages.map((s) => (s.state === 'running' ? now : (s.finishedMs ?? s.startedMs))).filter((t): t is number => t !== null);
  const span = Math.max(1, (ends.length ? Math.max(...ends) : now) - t0);
  const lanes = stages.map((s) => {
    let seg = '';
    if (s.startedMs !== null) {
      const end = s.state === 'running' ? now : (s.finishedMs ?? s.startedMs);
      const left = ((s.startedMs - t0) / span) * 100;
      const width = ((end - s.startedMs) / span) * 100;
      seg = `<span class="seg s-${escapeHtml(s.state)}" style="left:${left.toFixed(2)}%;width:${width.toFixed(2)}%"></span>`;
    }
    // The bar places the latest attempt on the clock; the time is what every attempt worked together.
    const time = s.startedMs === null ? '<span class="muted">–</span>' : `${duration(s.seconds)}${s.attempts > 1 ? ` <span class="muted" title="${s.attempts} attempts in all">×${s.attempts}</span>` : ''}`;
    // The job's own error is shown above; a stage's is repeated only when it says something else.
    const error = s.error && s.state === 'failed' && s.error.text !== jobError ? `<div class="lane-error">${errorBlock(s.error, `stage-${s.name}`)}</div>` : '';
    return `<div data-stage="${escapeHtml(s.name)}" data-state="${escapeHtml(s.state)}"><div class="lane"><span>${escapeHtml(s.name)}</span><span class="track" title="${escapeHtml(`${s.name}: ${s.state}${s.attempts > 1 ? ' (its latest attempt)' : ''}`)}">${seg}</span><span class="t">${time}</span></div>${error}</div>`;
  });
  return `<section id="stages" class="card">${lanes.join('\n')}</section>`;
}

function facts(v: JobPageView): string {
  const f = v.facts;
  const items: [string, string][] = [];
  if (f) {
    items.push(['resolution', `${f.width}×${f.height}`], ['fps', String(Math.round(f.fps * 1000) / 1000)]);
    items.push(['frames', f.frames === null ? '–' : `${f.framesExact ? '' : '≈'}${f.frames.toLocaleString('en')}`], ['codec', f.codec]);
    items.push(['duration', duration(f.durationSeconds)]);
  }
  items.push(['size', size(v.job.bytes)], ['sha256', `${v.job.sha256.slice(0, 12)}…`]);
  const cells = items.map(([k, val]) => `<div><dt>${escapeHtml(k)}</dt><dd${k === 'sha256' ? ` class="mono" title="${escapeHtml(v.job.sha256)}"` : ''}>${escapeHtml(val)}</dd></div>`).join('');
  return `<dl class="facts" id="facts">${cells}</dl>${f ? '' : '<p class="muted">Resolution, frame rate and codec appear once the video is probed.</p>'}`;
}

/** The job page's `<main>` element, attributes included: what the live update swaps in. */
export function jobMain(v: JobPageView, extras: JobPageExtras): string {
  const j = v.job;
  const back = `/jobs/${j.id}${query({ chunkState: v.table.state, chunkPage: v.table.page })}`;
  const failedChunks = v.chunkCounts.failed
    ? `<p><a href="/jobs/${j.id}?chunkState=failed#chunks">Show the failed chunk${v.chunkCounts.failed === 1 ? '' : 's'} (${v.chunkCounts.failed}) with ${v.chunkCounts.failed === 1 ? 'its' : 'their'} stderr</a></p>`
    : '';
  const error = j.error ? `<div class="card" id="job-error">${errorBlock(j.error, 'job')}${failedChunks}</div>` : '';
  const pictures = j.state === 'done' && extras.picturesHtml ? `<div class="card">${extras.picturesHtml}</div>` : '';
  // Filled by /static/player.js from the player's API; kept as it is when <main> is swapped.
  const player = j.state === 'done' ? `<section id="player" class="card" data-keep="player-${j.id}" data-job="${j.id}"><h2>Player</h2><p class="muted">Loading the player…</p></section>` : '';
  return `<main data-job="${j.id}" data-state="${escapeHtml(j.state)}">
<p><a href="/">← All jobs</a></p>
<div class="row"><h1 class="grow">Job ${j.id}: ${fileName(j.name)}</h1>${badge(j.state)}${queueNote(j)}</div>
${j.copyOf !== null ? `<p class="muted" data-copy-of="${j.copyOf}">Same content and settings as <a href="/jobs/${j.copyOf}">job ${j.copyOf}</a>: its JSON is written from that job's result, without tracking again.</p>` : ''}
${settingsLine(j)}
<div class="card"><div class="row"><div class="grow">${progress(v)}</div><div id="actions">${actions(v, back)}</div></div>${live(v, extras.now)}
<p class="muted">${where(j)}${j.seconds !== null ? `${duration(j.seconds)} in all · ` : ''}tracker ${duration(j.trackerSeconds)} · created ${escapeHtml(new Date(j.createdMs).toISOString().replace('T', ' ').slice(0, 19))} UTC</p></div>
${error}
<h2>Stages</h2>${timeline(j.stages, extras.now, j.error?.text)}
<h2>Source</h2><div class="card">${facts(v)}</div>
${player}
${pictures}
<h2 id="chunks-title">Chunks</h2>${chunkGrid(v)}${chunkTable(v, back)}
</main>`;
}

/** The whole job page. */
export function jobPage(v: JobPageView, extras: JobPageExtras, stamp: string, who?: Who, notice?: string): string {
  return layout(`posepipe: job ${v.job.id} (${v.job.state})`, jobMain(v, extras), stamp, { who, notice });
}
