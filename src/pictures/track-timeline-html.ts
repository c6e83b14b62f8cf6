import { escapeHtml } from '../server/page.ts';
import { formatClock, formatInteger, formatNumber } from './format-number.ts';
import type { Pictures, TrackRuns } from './pictures.ts';
import { trackColour } from './track-colour.ts';

// Layout in viewBox units (the SVG scales to the page's width; 1 unit is about 1 px at 1000 px).
const WIDTH = 1000;
const LABEL_WIDTH = 56;
const PLOT_LEFT = LABEL_WIDTH;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - 12;
const ROW = 14;
const BAR = 10;
const TOP = 4;
const AXIS = 34;
/** Tick spacings in seconds; the first that gives at most MAX_TICKS intervals is used. */
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const MAX_TICKS = 8;

function trackRow(track: TrackRuns, row: number, x: (frame: number) => number): string {
  const id = formatInteger(track.id);
  const top = TOP + row * ROW;
  const runs = track.runs
    .map(([first, last]) => {
      const left = x(first);
      // At least one unit wide, so a one-frame run of a long video still shows.
      return `<rect x="${formatNumber(left)}" y="${formatNumber(top + (ROW - BAR) / 2)}" width="${formatNumber(Math.max(1, x(last + 1) - left))}" height="${BAR}"/>`;
    })
    .join('');
  const first = track.runs[0]?.[0];
  const last = track.runs.at(-1)?.[1];
  const summary = first === undefined || last === undefined ? '' : `, frames ${formatInteger(first)}–${formatInteger(last)}`;
  return (
    `<g class="track" data-track="${id}" fill="${trackColour(track.id)}">` +
    `<title>${escapeHtml(`track ${id}: ${formatInteger(track.frames)} frames${summary}`)}</title>` +
    `<text x="${PLOT_LEFT - 6}" y="${formatNumber(top + ROW / 2)}" text-anchor="end" dominant-baseline="middle" fill="#222">${escapeHtml(`#${id}`)}</text>` +
    runs +
    `</g>`
  );
}

/** The first frame shown at or after `t` seconds (times from the first frame, ascending), or `times.length`. */
function frameAtOrAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t - 1e-6) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The time axis: a line and ticks labelled with the time (in seconds under a minute, else as a
 * clock) and the frame index there: the frame shown at that time when the frames' own times are
 * known (a variable frame rate), else time × fps.
 */
function axis(top: number, span: number, fps: number, x: (frame: number) => number, times?: readonly number[]): string {
  const timed = times !== undefined && times.length === span;
  const seconds = timed ? times[span - 1]! + (span > 1 ? times[span - 1]! - times[span - 2]! : 1 / fps) : span / fps;
  const step = STEPS.find((s) => seconds / s <= MAX_TICKS) ?? Math.ceil(seconds / MAX_TICKS / 3600) * 3600;
  const ticks: string[] = [];
  for (let k = 0; k * step <= seconds + 1e-9; k += 1) {
    const frame = Math.min(timed ? frameAtOrAfter(times, k * step) : Math.round(k * step * fps), span);
    const at = formatNumber(x(frame));
    ticks.push(
      `<line x1="${at}" x2="${at}" y1="${top}" y2="${top + 4}" stroke="#999"/>` +
        `<text x="${at}" y="${top + 15}" text-anchor="middle">${escapeHtml(formatClock(k * step, seconds < 60))}</text>` +
        `<text x="${at}" y="${top + 27}" text-anchor="middle" fill="#777">${escapeHtml(`f${formatInteger(frame)}`)}</text>`,
    );
  }
  return `<g class="axis" fill="#444"><line x1="${PLOT_LEFT}" x2="${PLOT_LEFT + PLOT_WIDTH}" y1="${top}" y2="${top}" stroke="#999"/>${ticks.join('')}</g>`;
}

/**
 * HTML of the per-track timeline: an inline SVG with one row per shown track (its id and one
 * rect per run of frames), under a time axis whose ticks also give the frame index; then "and N
 * more tracks" when some are not shown. A short paragraph when nobody was tracked. `times`: each
 * frame's time from the first (the output's `time`), when the source gives them.
 */
export function trackTimelineHtml(pictures: Pictures, times?: readonly number[]): string {
  const more = formatInteger(pictures.moreTracks);
  const moreHtml = pictures.moreTracks > 0 ? `<p class="more-tracks">${escapeHtml(`and ${more} more track${pictures.moreTracks === 1 ? '' : 's'}`)}</p>` : '';
  if (pictures.tracks.length === 0) return `<p class="track-timeline-empty">No tracks: nobody was tracked in this video.</p>${moreHtml}`;
  const { fps, frameCount } = pictures;
  if (!(Number.isFinite(fps) && fps > 0) || !Number.isSafeInteger(frameCount)) throw new TypeError(`pictures: bad fps ${fps} or frameCount ${frameCount}`);
  const lastFrame = Math.max(...pictures.tracks.map((t) => t.runs.at(-1)?.[1] ?? 0));
  // Frames 0..span-1 fill the plot; a run past the stated frame count still fits.
  const span = Math.max(1, frameCount, lastFrame + 1);
  const x = (frame: number): number => PLOT_LEFT + (frame / span) * PLOT_WIDTH;
  const rowsHeight = TOP + pictures.tracks.length * ROW;
  const height = rowsHeight + AXIS;
  return (
    `<svg id="track-timeline" viewBox="0 0 ${WIDTH} ${formatInteger(height)}" role="img" aria-label="frames each track appears in" ` +
    `style="display:block;width:100%;max-width:${WIDTH}px;height:auto" font-family="system-ui,sans-serif" font-size="11">` +
    pictures.tracks.map((track, row) => trackRow(track, row, x)).join('') +
    axis(rowsHeight + 2, span, fps, x, times) +
    `</svg>${moreHtml}`
  );
}
