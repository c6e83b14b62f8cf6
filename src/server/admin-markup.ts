/**
 * The markup of the queue-managing actions: "Track again" and "Delete" on a job's page, the
 * settings a job was made with, and the list's bulk selection and "Resume all failed". Forms that
 * post to src/server/admin-routes.ts; a destructive one asks first (a confirmation box on a job's
 * page; the page script's confirm() for the ticked jobs, whose buttons share one form).
 */
import type { JobSummaryView, JobView } from '../views.ts';
import { describeSettings } from '../work-settings.ts';
import { actionButton, escapeHtml } from './page.ts';

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
  return `<div class="row" id="bulk-bar"><form id="bulk" class="inline" method="post" action="/api/jobs/bulk"><input type="hidden" name="back" value="${escapeHtml(opts.back)}"><span class="muted">Ticked jobs:</span> ${button('resume', 'Resume')} ${button('cancel', 'Cancel', 'Cancel the ticked jobs?')} ${button('delete', 'Delete', 'Delete the ticked jobs and their files? Their outputs in the outbox are kept.')}</form>${failed}</div>`;
}
