/**
 * The markup of the queue-managing actions: "Track again" and "Delete" on a job's page, the
 * settings a job was made with, and the list's bulk selection and "Resume all failed". Forms that
 * post to src/server/admin-routes.ts; a destructive one asks first (a confirmation box on a job's
 * page; for the ticked jobs, whose buttons share one form, the page script's confirm(), or without
 * the script a page that asks before anything is done).
 */
import type { JobSummaryView, JobView } from '../views.ts';
import { describeSettings } from '../work-settings.ts';
import type { Who } from './auth/role.ts';
import { actionButton, escapeHtml, layout } from './page.ts';

function form(opts: { url: string; action: string; label: string; back: string; title: string; confirm?: string; extra?: string }): string {
  const confirm = opts.confirm ? ` data-confirm="${escapeHtml(opts.confirm)}"` : '';
  return `<form class="inline" method="post" action="${escapeHtml(opts.url)}"><input type="hidden" name="back" value="${escapeHtml(opts.back)}">${opts.extra ?? ''}<button type="submit" data-action="${escapeHtml(opts.action)}" title="${escapeHtml(opts.title)}"${confirm}>${escapeHtml(opts.label)}</button></form>`;
}

/** A finished, failed or cancelled job's "Track again" and "Delete" buttons ('' for a queued or running one); Delete asks first. */
export function adminButtons(j: Pick<JobView, 'id' | 'state' | 'name'>, back: string): string {
  if (j.state === 'queued' || j.state === 'running') return '';
  return [
    actionButton({ url: `/api/jobs/${j.id}/rerun`, action: 'rerun', label: 'Track again', back, title: "Track this video again with today's settings, as a new job (this one is kept)" }),
    actionButton({
      url: `/api/jobs/${j.id}/delete`,
      action: 'delete',
      label: 'Delete',
      back,
      title: 'Remove this job and its files under home (its output in the outbox is kept)',
      confirm: `Delete job ${j.id} (${j.name}) and its files? Its output in the outbox is kept.`,
    }),
  ].join(' ');
}

/** The backend and settings a job was made with, and where it came from (a re-run of an earlier job). */
export function settingsLine(j: Pick<JobView, 'settings' | 'rerunOf'>): string {
  const made = j.settings
    ? `<span data-backend="${escapeHtml(j.settings.backend)}">Tracked with <strong>${escapeHtml(j.settings.backend)}</strong></span> <span class="muted">${escapeHtml(describeSettings(j.settings).split(' · ').slice(1).join(' · '))}</span>`
    : '<span class="muted" data-backend="">Settings not recorded (made before posepipe recorded them)</span>';
  const rerun = j.rerunOf !== null ? ` · <span class="muted" data-rerun-of="${j.rerunOf}">tracked again from <a href="/jobs/${j.rerunOf}">job ${j.rerunOf}</a></span>` : '';
  return `<p id="settings">${made}${rerun}</p>`;
}

/** A row's tick box for the bulk actions (it belongs to the form `bulk` below the table). */
export function selectBox(j: Pick<JobSummaryView, 'id' | 'name'>): string {
  return `<input type="checkbox" form="bulk" name="job" value="${j.id}" data-select aria-label="${escapeHtml(`select job ${j.id} (${j.name})`)}">`;
}

/** The bulk bar: resume, cancel or delete the ticked jobs, and "Resume all failed" when some failed. */
export function bulkBar(opts: { back: string; failed: number; any: boolean }): string {
  const failed =
    opts.failed > 0
      ? form({ url: '/api/jobs/resume-failed', action: 'resume-failed', label: `Resume all failed (${opts.failed})`, back: opts.back, title: 'Queue every failed job again at its first unfinished step' })
      : '';
  if (!opts.any) return failed ? `<div class="row" id="bulk-bar">${failed}</div>` : '';
  const button = (action: string, label: string, confirm?: string) =>
    `<button type="submit" name="action" value="${action}" data-action="bulk-${action}"${confirm ? ` data-confirm="${escapeHtml(confirm)}"` : ''}>${escapeHtml(label)}</button>`;
  return `<div class="row" id="bulk-bar"><form id="bulk" class="inline" method="post" action="/api/jobs/bulk"><input type="hidden" name="back" value="${escapeHtml(opts.back)}"><input type="hidden" name="confirmed" value="" data-confirmed><span class="muted">Ticked jobs:</span> ${button('resume', 'Resume')} ${button('cancel', 'Cancel', BULK_QUESTIONS.cancel)} ${button('delete', 'Delete', BULK_QUESTIONS.delete)}</form>${failed}</div>`;
}

/** The question a bulk cancel or delete asks, the page script's and the no-script page's alike. */
export const BULK_QUESTIONS = {
  cancel: 'Cancel the ticked jobs?',
  delete: 'Delete the ticked jobs and their files? Their outputs in the outbox are kept.',
} as const;

/**
 * A bulk cancel or delete sent without its answer (the page script did not ask: it is off): the
 * question, the jobs it names, and the same form again with the answer, or back without acting.
 */
export function bulkConfirmPage(opts: { action: 'cancel' | 'delete'; jobs: { id: number; name: string }[]; back: string; output: boolean; who?: Who }): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const fields = [hidden('action', opts.action), hidden('back', opts.back), hidden('confirmed', '1'), ...(opts.output ? [hidden('output', '1')] : []), ...opts.jobs.map((j) => hidden('job', String(j.id)))].join('');
  const items = opts.jobs.map((j) => `<li>job ${j.id} <span class="name">${escapeHtml(j.name)}</span></li>`).join('');
  const verb = opts.action === 'cancel' ? 'Cancel' : 'Delete';
  const main = `<main data-page="confirm"><h1>${verb} ${opts.jobs.length === 1 ? '1 job' : `${opts.jobs.length} jobs`}?</h1>
<p>${escapeHtml(BULK_QUESTIONS[opts.action])}</p><ul id="confirm-jobs">${items}</ul>
<form class="row" method="post" action="/api/jobs/bulk">${fields}<button type="submit" data-action="bulk-${opts.action}-confirmed">Yes, ${verb.toLowerCase()} ${opts.jobs.length === 1 ? 'it' : 'them'}</button> <a href="${escapeHtml(opts.back)}" data-keep>No, go back</a></form></main>`;
  return layout(`${verb} jobs? · posepipe`, main, '', { who: opts.who });
}
