/**
 * createApp(): the status page, its JSON API, live updates and /metrics, behind one guard and
 * one error handler. The routes live in files by what they serve.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
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
import { registerStatic } from './static-routes.ts';
import { registerUploadRoutes } from './upload-routes.ts';
import { registerWorkerRoutes } from './worker-routes.ts';

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

  registerStatic(app);
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
