/**
 * The page's code, served by posepipe itself (never a CDN: the CSP allows scripts from 'self'
 * only): page.js, player.js, the 3D view's modules (view3d*.js) and the two files of three.js they
 * import, read from the installed `three` package, and the icon. Fixed paths, no parameters.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { repoPath } from '../repo-root.ts';
import type { ServerEnv } from './deps.ts';

/** A small icon (a figure in a frame), so browsers do not ask for a missing /favicon.ico. */
const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2330"/><circle cx="8" cy="4.5" r="2" fill="#2e9e5b"/><path d="M8 7v4M5 8.5h6M8 11l-2.5 3M8 11l2.5 3" stroke="#2e9e5b" stroke-width="1.5" stroke-linecap="round"/></svg>';

/** Where three.js's files are served: view3d.js imports the module by this path, and it imports the core beside it. */
export const THREE_DIR = '/static/three/';
/** The two files of three.js's build the 3D view needs (the module imports the core beside it by this name). */
const THREE_FILES = ['three.module.js', 'three.core.js'] as const;

/** posepipe's own scripts, in src/server/assets. */
const OWN_SCRIPTS = ['page.js', 'player.js', 'view3d.js', 'view3d-orbit.js', 'view3d-skeleton.js'] as const;

/** Every path served here: none of them needs a login (code, not data). */
export const STATIC_PATHS: readonly string[] = [...OWN_SCRIPTS.map((f) => `/static/${f}`), ...THREE_FILES.map((f) => THREE_DIR + f), '/static/icon.svg', '/favicon.ico'];

/** The own scripts' text, read on the first createApp: part of the code, not user data. */
let ownScripts: Map<string, string> | undefined;

/** One of three.js's files, read (and gzipped) on first use: a page without a 3D view never costs it. */
interface ThreeFile {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const require = createRequire(import.meta.url);

/** The installed three.js's build folder and version, found as Node finds the package. */
function threeBuild(): { dir: string; version: string } {
  try {
    // The package's main entry (build/three.cjs) lies in the build folder beside the module files.
    const dir = dirname(require.resolve('three'));
    const version = (JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }).version;
    return { dir, version };
  } catch (error) {
    throw new HTTPException(500, { message: `The 3D view's three.js is not installed (run npm install in posepipe's folder): ${(error as Error).message}` });
  }
}

const threeFiles = new Map<string, ThreeFile>();

function threeFile(name: string): ThreeFile {
  let file = threeFiles.get(name);
  if (!file) {
    const { dir, version } = threeBuild();
    let body: Buffer;
    try {
      body = readFileSync(join(dir, name));
    } catch (error) {
      throw new HTTPException(500, { message: `Cannot read three.js's ${name} (reinstall posepipe's packages with npm install): ${(error as Error).message}` });
    }
    // The version names the content: a browser revalidates (no-cache) and gets 304 until posepipe's three.js changes.
    file = { body, gzip: gzipSync(body), etag: `"three-${version}-${name}"` };
    threeFiles.set(name, file);
  }
  return file;
}

function script(c: Context<ServerEnv>, body: string | Buffer): Response {
  c.header('Content-Type', 'text/javascript; charset=utf-8');
  c.header('Cache-Control', 'no-cache');
  return c.body(typeof body === 'string' ? body : new Uint8Array(body));
}

/** Register the static routes. */
export function registerStatic(app: Hono<ServerEnv>): void {
  ownScripts ??= new Map(OWN_SCRIPTS.map((name) => [name, readFileSync(repoPath('src', 'server', 'assets', name), 'utf8')]));
  for (const [name, body] of ownScripts) app.get(`/static/${name}`, (c) => script(c, body));
  for (const name of THREE_FILES) {
    app.get(THREE_DIR + name, (c) => {
      const file = threeFile(name);
      c.header('ETag', file.etag);
      c.header('Vary', 'Accept-Encoding');
      if (c.req.header('if-none-match')?.split(',').some((tag) => tag.trim() === file.etag)) {
        c.header('Cache-Control', 'no-cache');
        return c.body(null, 304);
      }
      if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
        c.header('Content-Encoding', 'gzip');
        return script(c, file.gzip);
      }
      return script(c, file.body);
    });
  }
  for (const path of ['/static/icon.svg', '/favicon.ico']) {
    app.get(path, (c) => {
      c.header('Content-Type', 'image/svg+xml');
      c.header('Cache-Control', 'max-age=86400');
      return c.body(ICON);
    });
  }
}
