import { describe, expect, it } from 'vitest';
import { buildPictures, pictureIndex } from '../../src/pictures/build-pictures.ts';
import { type Pictures, thumbStripHtml, trackTimelineHtml } from '../../src/pictures/index.ts';
import { boxOf1, mergedResult } from './merged-fixture.ts';

const FACTS = { width: 160, height: 120, fps: 25, frameCount: 120 };
const pictures = (): Pictures => buildPictures(pictureIndex(mergedResult(), 'the fixture'), FACTS);

/** Attributes of every `<tag class="cls" ...>` in `html`, in order. */
function elements(html: string, tag: string, cls?: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const m of html.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>`, 'g'))) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([a-zA-Z][a-zA-Z0-9:-]*)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (cls === undefined || attrs['class'] === cls) out.push(attrs);
  }
  return out;
}

/** The page's CSP forbids scripts: no script element, event handler or javascript: URL anywhere. */
function expectNoScript(html: string): void {
  expect(html).not.toMatch(/<script|\son[a-z]+\s*=|javascript:/i);
}

describe('thumbStripHtml', () => {
  it('draws one figure per picked frame: the thumbnail, every box at its bbox, its track label, a caption', () => {
    const p = pictures();
    const html = thumbStripHtml(12, p);
    expectNoScript(html);
    expect(html).toMatch(/^<section id="pictures">[\s\S]*<\/section>$/);
    const figures = html.split('<figure ').slice(1).map((f) => `<figure ${f}`);
    expect(figures.map((f) => elements(f, 'figure', 'thumb')[0]!['data-frame'])).toEqual(p.frames.map((f) => String(f.index)));
    figures.forEach((figure, i) => {
      const frame = p.frames[i]!;
      const n = frame.index;
      // The wrapper holds the image and, laid over it, the boxes in source pixels.
      expect(figure).toMatch(/<div style="position:relative[^"]*"><img [^>]*><svg class="boxes"/);
      expect(elements(figure, 'img')).toEqual([{ src: `/jobs/12/thumbs/${n}.jpg`, width: '320', height: '240', alt: `frame ${n}`, style: 'display:block' }]);
      const svg = elements(figure, 'svg', 'boxes')[0]!;
      expect(svg).toMatchObject({ viewBox: '0 0 160 120', preserveAspectRatio: 'none' });
      expect(svg['style']).toMatch(/position:absolute/);
      const boxes = elements(figure, 'rect', 'box');
      expect(boxes.map((b) => [Number(b['data-track']), [b['x'], b['y'], b['width'], b['height']].map(Number)])).toEqual(frame.persons.map((q) => [q.track, q.bbox]));
      const labels = [...figure.matchAll(/<text class="track-label"([^>]*)>([^<]*)<\/text>/g)];
      expect(labels.map((l) => l[2])).toEqual(frame.persons.map((q) => String(q.track)));
      // A dark halo drawn under a bright fill: readable on any background.
      for (const l of labels) expect(l[1]).toMatch(/stroke="#000"[^>]*paint-order="stroke"/);
      expect(figure).toMatch(new RegExp(`<figcaption>frame ${n} · ${(n / 25).toFixed(2).replace(/\.?0+$/, '')} s · \\d+ (person|people)</figcaption>`));
    });
    // Frame 45 has track 1 at its moving box.
    const frame45 = figures[p.frames.findIndex((f) => f.index === 45)]!;
    expect(elements(frame45, 'rect', 'box')[0]).toMatchObject({ 'data-track': '1', x: String(boxOf1(45)[0]), y: '20.25', width: '40', height: '60.5' });
  });

  it('gives a track the same colour in every frame and different tracks different colours', () => {
    const html = thumbStripHtml(1, pictures());
    const colours = new Map<string, Set<string>>();
    for (const box of elements(html, 'rect', 'box')) {
      const set = colours.get(box['data-track']!) ?? new Set();
      colours.set(box['data-track']!, set.add(box['stroke']!));
    }
    expect([...colours.keys()].sort()).toEqual(['1', '2']);
    expect(colours.get('1')!.size).toBe(1);
    expect(colours.get('2')!.size).toBe(1);
    expect([...colours.get('1')!][0]).not.toBe([...colours.get('2')!][0]);
    expect(thumbStripHtml(1, pictures())).toBe(html);
  });

  it('scales the image to the source aspect, the boxes staying in source pixels', () => {
    const p = { ...pictures(), width: 1080, height: 1920 };
    const html = thumbStripHtml(1, p);
    expect(elements(html, 'img')[0]).toMatchObject({ width: '320', height: '569' });
    expect(elements(html, 'svg', 'boxes')[0]).toMatchObject({ viewBox: '0 0 1080 1920' });
  });

  it('refuses, rather than writes, anything that is not a finite number where a number goes', () => {
    const p = pictures();
    const tamper = (edit: (q: Pictures) => void): Pictures => {
      const q = structuredClone(p);
      edit(q);
      return q;
    };
    const bad: Array<[number, Pictures]> = [
      [Number.NaN, p],
      ['1/../..' as unknown as number, p],
      [1, tamper((q) => (q.frames[0]!.persons[0]!.track = '"><script>alert(1)</script>' as unknown as number))],
      [1, tamper((q) => (q.frames[0]!.persons[0]!.bbox[0] = Number.NaN))],
      [1, tamper((q) => (q.frames[0]!.persons[0]!.bbox[2] = '1" onload="x' as unknown as number))],
      [1, tamper((q) => (q.frames[0]!.index = '1.jpg"><img src=x' as unknown as number))],
      [1, tamper((q) => (q.frames[0]!.time = Number.POSITIVE_INFINITY))],
      [1, tamper((q) => (q.width = Number.NaN))],
    ];
    for (const [jobId, q] of bad) expect(() => thumbStripHtml(jobId, q)).toThrow(TypeError);
  });

  it('says so when there is no frame to show', () => {
    const html = thumbStripHtml(1, { ...pictures(), frames: [] });
    expect(html).toBe('<section id="pictures"><h2>Tracked people</h2><p>No frames to show.</p></section>');
  });
});

describe('trackTimelineHtml', () => {
  it('draws one row per track with one rect per run, placed by frame on a frame/time axis', () => {
    const p = pictures();
    const html = trackTimelineHtml(p);
    expectNoScript(html);
    expect(html).toMatch(/^<svg id="track-timeline" viewBox="0 0 \d+ \d+"[^>]*>[\s\S]*<\/svg>$/);
    const axis = elements(html.slice(html.indexOf('<g class="axis"')), 'line')[0]!;
    const [left, right] = [Number(axis['x1']), Number(axis['x2'])];
    const groups = html.split('<g class="track" ').slice(1);
    expect(groups.map((g) => g.match(/^data-track="(\d+)"/)![1])).toEqual(['1', '2', '3']);
    groups.forEach((group, i) => {
      const track = p.tracks[i]!;
      expect(group).toMatch(new RegExp(`<text[^>]*>#${track.id}</text>`));
      const rects = elements(group.slice(0, group.indexOf('</g>')), 'rect');
      expect(rects).toHaveLength(track.runs.length);
      rects.forEach((r, k) => {
        const [first, last] = track.runs[k]!;
        expect(Number(r['x'])).toBeCloseTo(left + (first / 120) * (right - left), 1);
        expect(Number(r['width'])).toBeCloseTo(Math.max(1, ((last + 1 - first) / 120) * (right - left)), 1);
      });
    });
    // 4.8 s of video: a tick a second, each with its time and frame.
    for (const label of ['0 s', '1 s', '4 s', 'f0', 'f25', 'f100']) expect(html).toContain(`>${label}</text>`);
    expect(html).not.toContain('more track');
  });

  it('puts a tick at the frame shown at its time when the frames carry their own times (a variable frame rate)', () => {
    // 120 frames: 50 fps for the first 100 (2 s), then 25 fps.
    const times = Array.from({ length: 120 }, (_, i) => (i < 100 ? i / 50 : 2 + (i - 100) / 25));
    const html = trackTimelineHtml(pictures(), times);
    // 2.8 s in all: ticks every 0.5 s; 1 s is frame 50, 2 s frame 100, 2.5 s frame 113 (the first shown from then; not 2.5 × fps).
    for (const [time, frame] of [['0 s', 'f0'], ['1 s', 'f50'], ['2 s', 'f100'], ['2.5 s', 'f113']]) {
      expect(html).toMatch(new RegExp(`<text x="([\\d.]+)"[^>]*>${time}</text><text x="\\1"[^>]*>${frame}</text>`));
    }
  });

  it('counts the tracks not shown after the SVG, and falls back to text when nobody was tracked', () => {
    expect(trackTimelineHtml({ ...pictures(), moreTracks: 3 })).toMatch(/<\/svg><p class="more-tracks">and 3 more tracks<\/p>$/);
    const none = trackTimelineHtml({ ...pictures(), tracks: [] });
    expect(none).not.toContain('<svg');
    expect(none).toMatch(/^<p[^>]*>No tracks/);
  });

  it('stays small for four hours of flickering tracks: 30 rows of at most 300 rects', () => {
    const frameCount = 4 * 3600 * 25;
    // Track k (1..35) is seen for 10 frames, then not for 340: ~1000 runs each; one person per frame.
    const frames = Array.from({ length: frameCount }, (_, index) => ({ index, persons: [{ track: 1 + (Math.floor(index / 10) % 35), bbox: [1, 2, 3, 4], score: 1 }] }));
    const p = buildPictures(pictureIndex({ frames, tracks: [] }, 'four hours'), { width: 1920, height: 1080, fps: 25, frameCount });
    expect(p.moreTracks).toBe(5);
    const html = trackTimelineHtml(p);
    const groups = html.split('<g class="track" ').slice(1);
    expect(groups).toHaveLength(30);
    for (const g of groups) expect(elements(g.slice(0, g.indexOf('</g>')), 'rect')).toHaveLength(300);
    expect(html.length).toBeLessThan(600_000);
    // Ticks stay few and read as clock times.
    expect(html).toContain('>4:00:00</text>');
    expect(elements(html, 'line').length).toBeLessThan(12);
  });

  it('refuses a run that is not a number', () => {
    const p = pictures();
    p.tracks[1]!.runs[0]![0] = Number.NaN;
    expect(() => trackTimelineHtml(p)).toThrow(TypeError);
  });
});
