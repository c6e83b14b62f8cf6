/**
 * createApp(): the status page, its JSON API, live updates and /metrics, behind one guard and
 * one error handler. The routes live in files by what they serve.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { repoPath } from '../repo-root.ts';
import { HTTPException } from 'hono/http-exception';
import { registerAdminRoutes } from './admin-routes.ts';
import { registerApi, wantsHtml } from './api-routes.ts';
import { bodyBound } from './bounds.ts';
import { registerLogin, requireLogin } from './auth/index.ts';
import type { AppDeps, ServerEnv } from './deps.ts';
import { ChangeFeed, registerEvents } from './events.ts';
import { registerExportRoutes } from './export-routes.ts';
import { registerFiles } from './file-routes.ts';
import { guard } from './guard.ts';
import { actionName, setNotice } from './notice.ts';
import { errorPage } from './page.ts';
import { metricsText, METRICS_CONTENT_TYPE } from './metrics.ts';
import { registerPages } from './page-routes.ts';
import { registerPlayerRoutes } from './player-routes.ts';
import { registerUploadRoutes } from './upload-routes.ts';
import { registerWorkerRoutes } from './worker-routes.ts';

/** The page script, read once: it is part of the code, not user data. */
const PAGE_JS = readFileSync(repoPath('src', 'server', 'assets', 'page.js'), 'utf8');
const PLAYER_JS = readFileSync(repoPath('src', 'server', 'assets', 'player.js'), 'utf8');

/** A small icon (a figure in a frame), so browsers do not ask for a missing /favicon.ico. */
const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d2330"/><circle cx="8" cy="4.5" r="2" fill="#2e9e5b"/><path d="M8 7v4M5 8.5h6M8 11l-2.5 3M8 11l2.5 3" stroke="#2e9e5b" stroke-width="1.5" stroke-linecap="round"/></svg>';

/** An error page for browsers (form actions, pages, files), JSON for API clients; a stale form action goes back with a notice. */
function errorResponse(c: Context<ServerEnv>, status: number, message: string): Response {
  const api = c.req.path.startsWith('/api/') && c.req.method === 'GET';
  if (status === 409 && c.req.method === 'POST' && wantsHtml(c) && !api) {
    // The action no longer applies (someone or the pipeline got there first): back to the page it
    // came from, which says so above what is true now.
    setNotice(c, `${actionName(c.req.path)} did not apply: ${message}. The page shows the job as it is now.`);
    return c.redirect(c.get('back') ?? '/', 303);
  }
  c.status(status as 400);
  if (wantsHtml(c) && !api) return c.html(errorPage(status, message, c.get('back') ?? '/', c.get('who')));
  return c.json({ error: message });
}

/** The status page and its JSON API. */
export function createApp(deps: AppDeps): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const feed = new ChangeFeed(() => deps.db.changeStamp(), deps.pollMs ?? 500);

  app.use('*', guard(deps.allowedHosts));
  app.use('*', bodyBound());
  if (deps.auth) {
    app.use('*', requireLogin(deps.auth));
    registerLogin(app, deps.auth);
  }

  for (const [path, script] of [['/static/page.js', PAGE_JS], ['/static/player.js', PLAYER_JS]] as const) {
    app.get(path, (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8');
      c.header('Cache-Control', 'no-cache');
      return c.body(script);
    });
  }
  for (const path of ['/static/icon.svg', '/favicon.ico']) {
    app.get(path, (c) => {
      c.header('Content-Type', 'image/svg+xml');
      c.header('Cache-Control', 'max-age=86400');
      return c.body(ICON);
    });
  }
  app.get('/metrics', (c) => {
    c.header('Content-Type', METRICS_CONTENT_TYPE);
    return c.body(metricsText(deps.db, feed.clients));
  });
  registerEvents(app, feed, { stamp: () => deps.db.changeStamp(), heartbeatMs: deps.heartbeatMs ?? 15_000, maxStreams: deps.config.maxLiveStreams, idleSeconds: deps.config.idleSeconds });
  registerPages(app, deps);
  registerApi(app, deps);
  registerAdminRoutes(app, deps);
  registerFiles(app, deps);
  registerPlayerRoutes(app, deps);
  registerExportRoutes(app, deps);
  registerUploadRoutes(app, deps);
  if (deps.remote) registerWorkerRoutes(app, deps.remote, deps.config.workerToken);

  app.notFound((c) => errorResponse(c, 404, `Nothing at ${c.req.path.slice(0, 200)}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return errorResponse(c, error.status, error.message);
    console.error(error);
    return errorResponse(c, 500, 'Internal error: the server log has the details');
  });
  return app;
}
