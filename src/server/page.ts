import type { JobView } from '../views.ts';

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.failed{color:#b00020}.done{color:#1b5e20}.running{color:#0d47a1}.err{white-space:pre-wrap;font-family:monospace;font-size:12px}
button{cursor:pointer}`;

function layout(title: string, body: string, refresh: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
${refresh ? '<meta http-equiv="refresh" content="3">' : ''}<style>${STYLE}</style></head><body>${body}</body></html>`;
}

function resumeForm(j: JobView): string {
  return j.state === 'failed' ? `<form method="post" action="/api/jobs/${j.id}/resume"><button type="submit">Resume</button></form>` : '';
}

/** The jobs list: every job with its state, stage, progress and error. */
export function jobsPage(jobs: JobView[]): string {
  const rows = jobs
    .map(
      (j) => `<tr><td><a href="/jobs/${j.id}">${j.id}</a></td><td>${escapeHtml(j.name)}</td><td class="${escapeHtml(j.state)}">${escapeHtml(j.state)}</td>
<td>${escapeHtml(j.stage ?? '-')}</td><td>${j.frames === null ? '-' : `${j.framesDone}/${j.frames}`}</td><td>${j.chunks ? `${j.chunksDone}/${j.chunks}` : '-'}</td>
<td class="err">${j.error ? escapeHtml(`${j.error.kind}: ${j.error.text}`) : ''}</td><td>${resumeForm(j)}</td></tr>`,
    )
    .join('\n');
  const body = `<h1>posepipe</h1><table><thead><tr><th>Job</th><th>File</th><th>State</th><th>Stage</th><th>Frames</th><th>Chunks</th><th>Error</th><th></th></tr></thead>
<tbody>${rows || '<tr><td colspan="8">No jobs yet: drop a video into the inbox.</td></tr>'}</tbody></table>`;
  return layout('posepipe', body, jobs.some((j) => j.state === 'running' || j.state === 'queued'));
}

/** One job: its stages with durations and its chunks with attempts, tracker seconds and errors. */
export function jobPage(j: JobView): string {
  const stages = j.stages
    .map((s) => `<tr><td>${s.name}</td><td class="${s.state}">${s.state}</td><td>${s.attempts}</td><td>${s.seconds ?? '-'}</td><td class="err">${s.error ? escapeHtml(`${s.error.kind}: ${s.error.text}`) : ''}</td></tr>`)
    .join('\n');
  const chunks = j.chunkList
    .map(
      (c) => `<tr><td>${c.index}</td><td class="${c.state}">${c.state}</td><td>${c.attempts}</td><td>${c.firstFrame}–${c.firstFrame + c.frameCount - 1}</td>
<td>${c.framesDone}/${c.frameCount}</td><td>${c.trackerSeconds ?? '-'}</td><td class="err">${c.error ? escapeHtml(`${c.error.kind}: ${c.error.text}${c.error.stderrTail ? `\n${c.error.stderrTail}` : ''}`) : ''}</td></tr>`,
    )
    .join('\n');
  const body = `<p><a href="/">All jobs</a></p><h1>Job ${j.id}: ${escapeHtml(j.name)}</h1>
<p class="${escapeHtml(j.state)}">${escapeHtml(j.state)}${j.stage ? ` at ${escapeHtml(j.stage)}` : ''}</p>
${j.error ? `<p class="err failed">${escapeHtml(`${j.error.kind}: ${j.error.text}`)}</p>` : ''}${resumeForm(j)}
${j.state === 'done' ? `<p><a href="/api/jobs/${j.id}/output">Output JSON</a></p>` : ''}
<h2>Stages</h2><table><thead><tr><th>Stage</th><th>State</th><th>Attempts</th><th>Seconds</th><th>Error</th></tr></thead><tbody>${stages}</tbody></table>
<h2>Chunks</h2><table><thead><tr><th>Chunk</th><th>State</th><th>Attempts</th><th>Frames</th><th>Done</th><th>Tracker s</th><th>Error</th></tr></thead><tbody>${chunks || '<tr><td colspan="7">Not chunked yet.</td></tr>'}</tbody></table>`;
  return layout(`posepipe job ${j.id}`, body, j.state === 'running' || j.state === 'queued');
}
