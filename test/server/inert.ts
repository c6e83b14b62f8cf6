/**
 * Checks that an HTML text is inert: its real tags (escaped text is not a tag) carry no event
 * handler attribute, its only script is our file, and no hostile markup survived unescaped.
 */
import { expect } from 'vitest';

const TAG = /<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g;
const ATTR = /\s+([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

/** The real tags of an HTML text with their attribute names and values. */
export function tags(html: string): { name: string; attrs: Map<string, string> }[] {
  return [...html.matchAll(TAG)].map((m) => ({
    name: m[1]!.toLowerCase(),
    attrs: new Map([...m[2]!.matchAll(ATTR)].map((a) => [a[1]!.toLowerCase(), a[2] ?? a[3] ?? a[4] ?? ''])),
  }));
}

/** Fail unless `html` is inert (see the file comment); `where` names it in the message. */
export function expectInert(html: string, where: string): void {
  for (const t of tags(html)) {
    const handlers = [...t.attrs.keys()].filter((a) => a.startsWith('on'));
    expect(handlers, `${where}: <${t.name}> with ${handlers.join(', ')}`).toEqual([]);
    if (t.name === 'script') expect(['/static/page.js', '/static/player.js'], `${where}: inline script`).toContain(t.attrs.get('src'));
    for (const [name, value] of t.attrs) if (name === 'href' || name === 'src' || name === 'action') expect(value, where).not.toMatch(/^\s*(javascript|data):/i);
  }
  for (const bad of ['<script>alert', '<img src=x', '<b>bold', '<i>second', '</pre><script']) expect(html, where).not.toContain(bad);
}
