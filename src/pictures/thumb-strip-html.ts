import { escapeHtml } from '../server/page.ts';
import { formatInteger, formatNumber } from './format-number.ts';
import { THUMB_WIDTH, type PictureFrame, type PicturePerson, type Pictures } from './pictures.ts';
import { trackColour } from './track-colour.ts';

/** Label size and halo in displayed pixels; multiplied by `scale` (source pixels per displayed pixel). */
const LABEL_PX = 13;
const HALO_PX = 3;

/** One person's box and track label, in source pixels (the SVG's viewBox is the source frame). */
function personSvg(p: PicturePerson, pictures: Pictures, scale: number): string {
  const [x, y, w, h] = p.bbox;
  const colour = trackColour(p.track);
  const label = formatInteger(p.track);
  const size = LABEL_PX * scale;
  // Inside the box's top-left corner, kept within the frame when the box reaches past its edges.
  const labelX = Math.min(Math.max(x, 0), Math.max(0, pictures.width - (label.length * 0.65 + 0.5) * size)) + 0.25 * size;
  const labelY = Math.min(Math.max(y, 0), Math.max(0, pictures.height - size)) + size;
  return (
    `<rect class="box" data-track="${label}" x="${formatNumber(x)}" y="${formatNumber(y)}" width="${formatNumber(w)}" height="${formatNumber(h)}" ` +
    `fill="none" stroke="${colour}" stroke-width="2" vector-effect="non-scaling-stroke"/>` +
    `<text class="track-label" data-track="${label}" x="${formatNumber(labelX)}" y="${formatNumber(labelY)}" font-size="${formatNumber(size)}" ` +
    `font-family="system-ui,sans-serif" font-weight="bold" fill="${trackColour(p.track, true)}" stroke="#000" stroke-width="${formatNumber(HALO_PX * scale)}" ` +
    `stroke-linejoin="round" paint-order="stroke">${escapeHtml(label)}</text>`
  );
}

function figureHtml(jobId: string, frame: PictureFrame, pictures: Pictures, displayHeight: string): string {
  const index = formatInteger(frame.index);
  const scale = pictures.width / THUMB_WIDTH;
  const people = frame.persons.length === 1 ? '1 person' : `${formatInteger(frame.persons.length)} people`;
  return (
    `<figure class="thumb" data-frame="${index}" style="margin:0">` +
    `<div style="position:relative;width:${THUMB_WIDTH}px;height:${displayHeight}px;background:#eee">` +
    `<img src="/jobs/${jobId}/thumbs/${index}.jpg" width="${THUMB_WIDTH}" height="${displayHeight}" alt="frame ${index}" style="display:block">` +
    `<svg class="boxes" viewBox="0 0 ${formatNumber(pictures.width)} ${formatNumber(pictures.height)}" preserveAspectRatio="none" ` +
    `style="position:absolute;left:0;top:0;width:100%;height:100%;overflow:hidden" aria-hidden="true">` +
    frame.persons.map((p) => personSvg(p, pictures, scale)).join('') +
    `</svg></div>` +
    `<figcaption>${escapeHtml(`frame ${index} · ${formatNumber(frame.time, 2)} s · ${people}`)}</figcaption></figure>`
  );
}

/**
 * HTML of the thumbnail strip (escaped; no scripts, no event handlers: the page's CSP allows
 * neither): one figure per picked frame, the frame's JPEG with an SVG of every person's box and
 * track id laid over it. The SVG's viewBox is the source frame, so a box's rect has exactly the
 * bbox's numbers; the image is THUMB_WIDTH px wide at the source's aspect.
 */
export function thumbStripHtml(jobId: number, pictures: Pictures): string {
  const id = formatInteger(jobId);
  const displayHeight = formatInteger(Math.max(1, Math.round((THUMB_WIDTH * pictures.height) / pictures.width)));
  const figures = pictures.frames.map((frame) => figureHtml(id, frame, pictures, displayHeight)).join('\n');
  const body = figures === '' ? '<p>No frames to show.</p>' : `<div style="display:flex;flex-wrap:wrap;gap:8px">${figures}</div>`;
  return `<section id="pictures"><h2>Tracked people</h2>${body}</section>`;
}
