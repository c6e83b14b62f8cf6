/**
 * The pieces every page is made of: escaping, the layout, badges, bars, error blocks, action
 * buttons and pagers. Every value from a job (names, errors, stderr) goes through escapeHtml here.
 */
import { failureAdvice } from '../errors.ts';
import type { Who } from './auth/role.ts';
import { STYLE } from './style.ts';

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the header says about the user: their role and a logout, when they logged in with a session. */
function account(who: Who | undefined): string {
  if (!who?.session) return '';
  return `<span class="who" data-role="${who.role}">${who.role === 'viewer' ? 'read-only' : 'operator'}</span><form class="logout" method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>`;
}

/**
 * A whole page around its `<main>` element (which the live update swaps); the script is a file,
 * never inline. `stamp` is the database's change stamp the page was read at (the script compares).
 * `who` puts the role and a logout in the header (a viewer's page hides the action buttons);
 * `scripts: false` leaves the scripts out (the login page has no live update); `notice` is a
 * message about the action just tried (outside `<main>`, so a live update keeps it).
 */
export function layout(title: string, main: string, stamp = '', opts: { who?: Who; scripts?: boolean; notice?: string } = {}): string {
  const scripts = opts.scripts === false ? '' : '<script src="/static/page.js" defer></script><script src="/static/player.js" defer></script>';
  const notice = opts.notice ? `<div id="notice" role="alert"><span class="text">${escapeHtml(opts.notice)}</span><a href="" data-dismiss>Dismiss</a></div>\n` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="posepipe-stamp" content="${escapeHtml(stamp)}"><link rel="icon" href="/static/icon.svg" type="image/svg+xml"><title>${escapeHtml(title)}</title><style>${STYLE}</style>${scripts}</head>
<body${opts.who?.role === 'viewer' ? ' data-role="viewer"' : ''}><header class="top"><a href="/">posepipe</a><span class="sub">videos in, tracked people out</span>${account(opts.who)}</header>
${notice}${main}
</body></html>`;
}

/**
 * A file name that wraps where a reader would break it (after a space, `_`, `-` or `)`, before a
 * `.` or `(`), never in the middle of "notes.mp4"; a name with no such place still wraps rather
 * than push the page sideways (the CSS breaks it only when it cannot fit).
 */
export function fileName(name: string): string {
  const parts = name.split(/(?<=[ _\-)])|(?=[.(])/u);
  return `<span class="fname" title="${escapeHtml(name)}">${parts.map(escapeHtml).join('<wbr>')}</span>`;
}

/** A coloured state badge. */
export function badge(state: string): string {
  return `<span class="badge s-${escapeHtml(state)}">${escapeHtml(state)}</span>`;
}

/**
 * The stage a job is at, for a cell headed "Stage": a queued job that has not started says so
 * (the first stage is itself called "stage", so its name alone would read "stage stage"); one
 * prepared and waiting for a slot says that.
 */
export function stageText(j: { state: string; stage: string | null; startedMs: number | null; phase: string | null }): string {
  if (j.state === 'done' || j.stage === null) return '–';
  if (j.phase === 'ready') return 'waits for a slot';
  if (j.phase === 'preparing') return j.stage;
  if (j.startedMs === null) return 'not started';
  return j.stage;
}

const PHASE_TITLES: Record<string, string> = {
  preparing: 'Being copied, probed and cut into chunks, ahead of a free tracker slot',
  ready: 'Copied, probed and cut into chunks: it waits for a free tracker slot',
};

/** Beside a queued job's badge: whether it is being prepared or ready, and its place in the queue ("ready · #1 in queue"). */
export function queueNote(j: { phase: string | null; queuePosition: number | null }): string {
  const parts: string[] = [];
  if (j.phase) parts.push(`<span data-phase="${escapeHtml(j.phase)}" title="${escapeHtml(PHASE_TITLES[j.phase] ?? '')}">${escapeHtml(j.phase)}</span>`);
  if (j.queuePosition !== null) parts.push(`<span data-queue-position="${j.queuePosition}" title="Served in this order: highest priority first, then the oldest">#${j.queuePosition} in queue</span>`);
  return parts.length ? ` <span class="muted queue">${parts.join(' · ')}</span>` : '';
}

/** What the cancel button asks before it cancels. */
export function cancelQuestion(j: { id: number; name: string; state: string }): string {
  return j.state === 'running'
    ? `Cancel job ${j.id} (${j.name})? Tracking stops within a few seconds; Resume goes on from its finished chunks.`
    : `Cancel job ${j.id} (${j.name})? It leaves the queue; Resume puts it back.`;
}

/** Seconds as people read them: 4.2 s, 3 min 5 s, 2 h 10 min. */
export function duration(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Bytes as people read them. */
export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[u]}`;
}

/** A progress bar with its figures; `id` only for the job page's main bar. */
export function progressBar(done: number, total: number | null, opts: { id?: string; state?: string; big?: boolean } = {}): string {
  if (total === null || total <= 0) return '<span class="muted">–</span>';
  const pct = Math.min(100, Math.floor((done / total) * 100));
  const id = opts.id ? ` id="${escapeHtml(opts.id)}"` : '';
  const cls = [opts.big ? 'big' : '', opts.state ? `s-${escapeHtml(opts.state)}` : ''].filter(Boolean).join(' ');
  return `<span class="bar"><progress${id}${cls ? ` class="${cls}"` : ''} value="${done}" max="${total}">${pct}%</progress><span class="mono">${done.toLocaleString('en')}/${total.toLocaleString('en')}</span></span>`;
}

/** What to do about a failure of this kind (the CLI says the same). */
export function advice(error: { kind: string; text: string }): string {
  return failureAdvice(error);
}

/** The first line of an error, short, for lists (the full text is on the job page). */
export function firstLine(text: string, max = 160): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A readable error: kind as a badge, the message, the advice, and the stderr tail (folded away unless `open`). */
export function errorBlock(error: { kind: string; text: string; stderrTail?: string | null; exitCode?: number | null; signal?: string | null }, id: string, opts: { open?: boolean } = {}): string {
  const how = error.signal ? ` (signal ${escapeHtml(error.signal)})` : error.exitCode != null ? ` (exit code ${escapeHtml(error.exitCode)})` : '';
  const tip = advice(error);
  const tail = error.stderrTail
    ? `<details id="${escapeHtml(id)}-stderr"${opts.open ? ' open' : ''}><summary>stderr, last lines</summary><pre>${escapeHtml(error.stderrTail)}</pre></details>`
    : '';
  return `<div class="err"><div><span class="kind">${escapeHtml(error.kind)}</span><span class="text">${escapeHtml(error.text)}</span>${how}</div>${tip ? `<div class="advice">${escapeHtml(tip)}</div>` : ''}${tail}</div>`;
}

/**
 * A form with one action button; works without JavaScript and comes back to `back` (a same-site
 * path). With `confirm` (the question to ask) the button opens a small box first, asking it, with
 * the button that really does it inside: a `<details>`, so it needs no script either.
 */
export function actionButton(opts: { action: string; url: string; label: string; back: string; title?: string; confirm?: string }): string {
  const title = opts.title ? ` title="${escapeHtml(opts.title)}"` : '';
  const form = (label: string) => `<form class="inline" method="post" action="${escapeHtml(opts.url)}"><input type="hidden" name="back" value="${escapeHtml(opts.back)}"><button type="submit" data-action="${escapeHtml(opts.action)}"${title}>${escapeHtml(label)}</button></form>`;
  if (!opts.confirm) return form(opts.label);
  // An id from the URL: the live update keeps an open <details> open by its id.
  const id = `confirm${opts.url.replace(/[^A-Za-z0-9]+/g, '-')}`;
  return `<details class="confirm" id="${escapeHtml(id)}" data-confirm="${escapeHtml(opts.action)}"><summary${title}>${escapeHtml(opts.label)}</summary><span class="ask" role="alertdialog"><p>${escapeHtml(opts.confirm)}</p>${form(`Yes, ${opts.label.toLowerCase()}`)} <button type="button" data-keep>No, keep it</button></span></details>`;
}

/** Page numbers around the current one, with the ends, and gaps where pages are left out. */
function pageNumbers(page: number, pages: number): (number | null)[] {
  const keep = new Set([1, pages, page - 2, page - 1, page, page + 1, page + 2].filter((p) => p >= 1 && p <= pages));
  const sorted = [...keep].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const [i, p] of sorted.entries()) {
    if (i > 0 && p - sorted[i - 1]! > 1) out.push(null);
    out.push(p);
  }
  return out;
}

/** A pager: previous, page numbers, next, and the totals. */
export function pager(opts: { page: number; pages: number; total: number; noun: string; href: (page: number) => string; className?: string }): string {
  const { page, pages } = opts;
  const link = (p: number, text: string, rel?: string) => `<a href="${escapeHtml(opts.href(p))}"${rel ? ` rel="${rel}"` : ''}>${text}</a>`;
  const parts: string[] = [];
  if (page > 1) parts.push(link(page - 1, '‹ Prev', 'prev'));
  for (const p of pageNumbers(page, pages)) {
    if (p === null) parts.push('<span class="muted">…</span>');
    else parts.push(p === page ? `<span class="cur" aria-current="page">${p}</span>` : link(p, String(p)));
  }
  if (page < pages) parts.push(link(page + 1, 'Next ›', 'next'));
  parts.push(`<span class="total">page ${page} of ${pages} · ${opts.total.toLocaleString('en')} ${escapeHtml(opts.noun)}</span>`);
  return `<nav class="${opts.className ?? 'pager'}">${parts.join('')}</nav>`;
}

/** A readable error page (a refused action from a form, an unknown job) with a link back. */
export function errorPage(status: number, message: string, back: string, who?: Who): string {
  const main = `<main data-page="error"><div class="card"><h1>${status === 409 ? 'That did not apply' : status === 404 ? 'Not found' : 'Refused'}</h1>
<p class="err"><span class="kind">${status}</span><span class="text">${escapeHtml(message)}</span></p><p><a href="${escapeHtml(back)}">← Back</a></p></div></main>`;
  return layout(`posepipe: ${message}`, main, '', { who });
}
