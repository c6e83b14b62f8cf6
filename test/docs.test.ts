/**
 * The docs cannot drift from the code: every setting of CONFIG_SPEC has its row in
 * docs/settings.md (key, variable, flag, and its default where it is a number or a choice), no row
 * names a setting that is gone, the README's test command is the one CI runs, and every relative
 * link in README.md and docs/*.md points to a file that exists and, with a #fragment, to a heading
 * of that file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SPEC, loadConfig, type ConfigKey } from '../src/config.ts';

const PAGES = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** The text a reader sees as prose: fenced code blocks and inline code removed (a link there is not a link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm)) found.add(slug(m[1]!));
  return found;
}

/** Relative links of `file` that do not resolve: a missing file, or a #fragment no heading has. */
function brokenLinks(file: string, markdown: string): string[] {
  const broken: string[] = [];
  for (const m of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not ours to check here
    const [path, fragment] = target.split('#', 2) as [string, string | undefined];
    const into = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    if (!existsSync(into)) {
      broken.push(`${file}: ${target} (no file ${into})`);
      continue;
    }
    if (fragment !== undefined && !(into.endsWith('.md') && anchors(readFileSync(into, 'utf8')).has(fragment))) {
      broken.push(`${file}: ${target} (no heading #${fragment} in ${into})`);
    }
  }
  return broken;
}

describe('the docs', () => {
  const settings = readFileSync('docs/settings.md', 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of settings.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length === 5 && /^`POSEPIPE_[A-Z_]+`$/.test(cells[1]!)) rows.set(cells[0]!, cells);
  }

  it('docs/settings.md has a row for every setting, with its variable and flag, and no row for a setting that is gone', () => {
    const keys = Object.keys(CONFIG_SPEC) as ConfigKey[];
    for (const key of keys) {
      const row = rows.get(key);
      expect(row, `docs/settings.md has no row for ${key}`).toBeDefined();
      expect(row![1], `the variable of ${key}`).toBe(`\`${CONFIG_SPEC[key].env}\``);
      expect(row![2], `the flag of ${key}`).toBe(`\`${CONFIG_SPEC[key].flag}\``);
    }
    expect([...rows.keys()].filter((k) => !(k in CONFIG_SPEC)), 'rows of docs/settings.md that are not settings').toEqual([]);
  });

  it('docs/settings.md gives the default of every number and choice as the code has it', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'posepipe-docs-'));
    try {
      const config = loadConfig({ env: { HOME: cwd }, cwd, wsl: false });
      for (const key of Object.keys(CONFIG_SPEC) as ConfigKey[]) {
        const spec = CONFIG_SPEC[key];
        if (!['int', 'number', 'enum'].includes(spec.kind)) continue;
        const shown = rows.get(key)![3]!.replace(/`/g, '');
        expect(shown.split(/[\s(]/)[0], `the default of ${key} in docs/settings.md`).toBe(String(config[key]));
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("the README's test command is the one .ci/run runs", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Run the tests'));
    const command = /```sh\n([^\n]+)\n```/.exec(section)?.[1];
    expect(command, 'README.md has no sh block under "Run the tests"').toBeDefined();
    const ci = readFileSync('.ci/run', 'utf8').trim().split('\n');
    expect(ci.at(-1)).toBe(command);
  });

  it('every relative link in README.md and docs/ points to an existing file and heading', () => {
    // The checker itself, on links that are broken and links that are not.
    expect(slug('Output formats, extras and size')).toBe('output-formats-extras-and-size');
    expect(slug('Differences from stock `track.py`')).toBe('differences-from-stock-trackpy');
    expect(brokenLinks('README.md', '[a](docs/settings.md#folders-and-input) [b](docs/nowhere.md) [c](docs/settings.md#nowhere) `[d](nowhere.md)` [e](https://example.com/x)')).toEqual([
      'README.md: docs/nowhere.md (no file docs/nowhere.md)',
      'README.md: docs/settings.md#nowhere (no heading #nowhere in docs/settings.md)',
    ]);

    const broken: string[] = [];
    let links = 0;
    for (const file of PAGES) {
      const text = readFileSync(file, 'utf8');
      links += [...prose(text).matchAll(/\]\((?![a-z][a-z0-9+.-]*:)[^)\s]+\)/gi)].length;
      broken.push(...brokenLinks(file, text));
    }
    expect(broken).toEqual([]);
    // README links every page of docs/, and each page is reached from it.
    const readme = readFileSync('README.md', 'utf8');
    const unlinked = PAGES.filter((p) => p !== 'README.md' && !readme.includes(`](${relative('.', resolve(p))})`));
    expect(unlinked, 'docs pages the README does not link').toEqual([]);
    expect(links).toBeGreaterThan(PAGES.length);
  });
});
