/**
 * The job page's chunk sections: a compact grid of every chunk (up to the grid limit) and a
 * paged, filterable table with each chunk's attempts, frames, tracker time, error and log.
 */
import { STEP_STATES } from '../db/index.ts';
import type { ChunkView, JobPageView } from '../views.ts';
import { actionButton, duration, errorBlock, escapeHtml, pager } from './page.ts';
import { query } from './params.ts';
import { chunkNumber } from '../chunk-number.ts';

function cellTitle(c: ChunkView): string {
  const parts = [`chunk ${chunkNumber(c.index)}: ${c.state}`, `${c.attempts} attempt${c.attempts === 1 ? '' : 's'}`, `frames ${c.firstFrame}–${c.firstFrame + c.frameCount - 1} (${c.framesDone}/${c.frameCount} done)`];
  if (c.trackerSeconds !== null) parts.push(`tracker ${c.trackerSeconds} s`);
  if (c.error) parts.push(`error: ${c.error.kind}`);
  else if (c.earlierError) parts.push(`an earlier attempt failed: ${c.earlierError.kind}`);
  return parts.join(' · ');
}

/** The grid: one small coloured cell per chunk with a tooltip; lean, since it is swapped live. */
export function chunkGrid(v: JobPageView): string {
  if (v.grid.length === 0) return '';
  const all = Object.values(v.chunkCounts).reduce((a, b) => a + b, 0);
  const cells = v.grid.map((c) => `<i data-chunk="${c.index}" data-state="${escapeHtml(c.state)}" title="${escapeHtml(cellTitle(c))}"></i>`).join('');
  const legend = STEP_STATES.map((s) => `<span><i class="s-${s}"></i>${s} ${v.chunkCounts[s].toLocaleString('en')}</span>`).join('');
  const more = all > v.grid.length ? `<p class="muted">The grid shows the first ${v.grid.length.toLocaleString('en')} of ${all.toLocaleString('en')} chunks; the table below has them all.</p>` : '';
  return `<div class="legend">${legend}</div><div id="chunk-grid">${cells}</div>${more}`;
}

function chunkRow(jobId: number, jobState: string, c: ChunkView, back: string, openStderr: boolean): string {
  const last = c.firstFrame + c.frameCount - 1;
  let error = '';
  // Its error while the latest attempt failed (a pending one is waiting to be tried again); an
  // earlier attempt's failure, after a later one ran or succeeded, is only history.
  if (c.error && c.state === 'failed') error = errorBlock(c.error, `chunk-${c.index}`, { open: openStderr });
  else if (c.error) error = `<span class="muted">it will be tried again</span>${errorBlock(c.error, `chunk-${c.index}`)}`;
  else if (c.earlierError) error = `<span class="muted" title="${escapeHtml(c.earlierError.text)}">earlier attempt: ${escapeHtml(c.earlierError.kind)}</span>`;
  const retry = c.state === 'failed' && jobState === 'failed' ? actionButton({ action: 'retry', url: `/api/jobs/${jobId}/chunks/${c.index}/retry`, label: 'Retry', back }) : '';
  const log = c.attempts > 0 ? `<a data-log="${c.index}" href="/jobs/${jobId}/chunks/${c.index}/log">log</a>` : '<span class="muted">–</span>';
  return `<tr id="chunk-${c.index}" data-chunk="${c.index}" data-state="${escapeHtml(c.state)}"><td class="num">${chunkNumber(c.index)}</td><td><span class="badge s-${escapeHtml(c.state)}">${escapeHtml(c.state)}</span></td>
<td class="num">${c.attempts}</td><td class="num mono">${c.firstFrame}–${last}</td><td class="num mono">${c.framesDone}/${c.frameCount}</td><td class="num">${duration(c.trackerSeconds)}</td><td class="ran-on">${c.ranOn ? escapeHtml(c.ranOn) : '<span class="muted">–</span>'}</td>
<td>${c.error ? `<span class="kind">${escapeHtml(c.error.kind)}</span>` : ''}</td><td>${log}</td><td>${retry}</td></tr>${error ? `\n<tr class="detail"><td></td><td colspan="9">${error}</td></tr>` : ''}`;
}

/** The chunk table with its state filter and pager. */
export function chunkTable(v: JobPageView, back: string): string {
  const all = Object.values(v.chunkCounts).reduce((a, b) => a + b, 0);
  if (all === 0) return '<p class="muted">Not chunked yet.</p>';
  const t = v.table;
  const href = (state: string | undefined, page: number) => `/jobs/${v.job.id}${query({ chunkState: state, chunkPage: page })}#chunks`;
  const tab = (s: string, n: number) => {
    const current = (s === 'all' && !t.state) || s === t.state;
    return `<a data-chunk-filter="${s}" href="${escapeHtml(href(s === 'all' ? undefined : s, 1))}"${current ? ' aria-current="page"' : ''}>${s}<span class="n">${n.toLocaleString('en')}</span></a>`;
  };
  const tabs = `<nav class="tabs">${tab('all', all)}${STEP_STATES.map((s) => tab(s, v.chunkCounts[s])).join('')}</nav>`;
  // Filtered to the failed ones (where "Show the failed chunk with its stderr" leads): their stderr unfolded.
  const rows = t.rows.map((c) => chunkRow(v.job.id, v.job.state, c, back, t.state === 'failed')).join('\n') || `<tr><td colspan="9" class="muted">No ${escapeHtml(t.state ?? '')} chunks.</td></tr>`;
  const nav = t.pages > 1 ? pager({ page: t.page, pages: t.pages, total: t.total, noun: 'chunks', href: (p) => href(t.state, p), className: 'pager chunk-pager' }) : '';
  return `${tabs}<div class="scroll"><table id="chunks"><thead><tr><th class="num">#</th><th>State</th><th class="num">Attempts</th><th class="num">Frames</th><th class="num">Done</th><th class="num">Tracker</th><th>Ran on</th><th>Error</th><th>Log</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></div>${nav}`;
}
