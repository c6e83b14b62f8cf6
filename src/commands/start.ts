import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.ts';
import { QUEUE_NAME } from '../scheduler/index.ts';
import { createProgress, displayName, terminalSafe } from '../progress.ts';
import { Crashpoints } from '../crashpoint.ts';
import { createAfterDone, createInboxWatcher } from '../watcher/index.ts';
import { isLoopback, loginLines, openPageAuth, startServer } from '../server/index.ts';
import { readServerTls } from '../tls-files.ts';
import { settingsRecord, workSettings } from '../work-settings.ts';
import { onOutputClosed } from './closed-output.ts';
import { openEngine, forceStop, type Engine } from './shared.ts';

type AfterDone = ReturnType<typeof createAfterDone>;

/**
 * `posepipe start`: watch the inbox, run queued jobs, serve the status page. SIGTERM (and a reader
 * of its output going away) stops it with exit 0, Ctrl-C (SIGINT) with 130; either way tracking
 * stops at once and the interrupted chunk is tracked again at the next start. A second Ctrl-C
 * does not wait for the rest of the shutdown.
 */
export async function startCommand(config: Config): Promise<number> {
  const log = (line: string) => console.log(terminalSafe(line));
  // A PEM file, a login or a Redis that is refused stops us before anything is opened.
  readServerTls(config);
  if (config.redisUrl && config.workerToken === '' && !isLoopback(config.host)) {
    throw new ConfigError(`posepipe start listens on ${config.host} with a Redis queue for remote workers: set POSEPIPE_WORKER_TOKEN (the same on every worker, e.g. from: openssl rand -hex 24), or the worker endpoints would be open to anyone`);
  }
  // Whoever reaches a Redis without a password can pause or empty the queue: beyond loopback it needs one.
  if (config.redisUrl && !isLoopback(config.host) && new URL(config.redisUrl).password === '') {
    throw new ConfigError(`Invalid redisUrl (from ${config.sources.redisUrl}): posepipe start listens on ${config.host}, beyond loopback, so its Redis must ask for a password: use rediss://USER:PASSWORD@HOST:PORT (TLS), or redis://:PASSWORD@HOST:6379 with requirepass or an ACL user in redis.conf`);
  }
  const auth = openPageAuth(config, { warn: (line) => log(line) });
  // Signals are taken from the first moment: one that arrives while starting up stops us once ready.
  let resolveStop!: () => void;
  const stopped = new Promise<void>((r) => (resolveStop = r));
  let code = 0;
  let engine: Engine | undefined;
  const onTerm = () => resolveStop();
  const onInt = () => {
    if (code === 130) forceStop(engine);
    code = 130;
    resolveStop();
  };
  process.on('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const unwatchOutput = onOutputClosed(onTerm);
  const progress = createProgress(process.stdout, Boolean(process.stdout.isTTY));
  // Inbox files of done jobs: kept, moved to inbox/done/ or deleted (afterDone).
  const crash = new Crashpoints(config.crashpoint);
  const afterDone = createAfterDone({
    mode: config.afterDone,
    inbox: config.inbox,
    outputOf: (id) => {
      const job = engine?.db.getJob(id);
      return job?.state === 'done' ? join(config.outbox, job.output_name) : undefined;
    },
    log,
    beforeAct: () => crash.reach('finished'),
  });
  try {
    engine = openEngine(config, {
      onEvent: (event) => {
        progress(event);
        if (event.type === 'job' && event.state === 'done') afterDone.jobDone(event.jobId);
      },
      log,
    });
    await serveUntilStopped(config, engine, { auth, log, stopped, afterDone });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    unwatchOutput();
  }
  return code;
}

async function serveUntilStopped(config: Config, engine: Engine, opts: { auth: ReturnType<typeof openPageAuth>; log: (line: string) => void; stopped: Promise<void>; afterDone: AfterDone }): Promise<void> {
  const { auth, log, stopped, afterDone } = opts;
  const settings = settingsRecord(workSettings(config));
  const watcher = createInboxWatcher({
    inbox: config.inbox,
    readyMs: config.readySeconds * 1000,
    checkEveryMs: Math.max(50, Math.min(500, (config.readySeconds * 1000) / 4)),
    rescanMs: config.rescanSeconds * 1000,
    polling: config.polling,
    onWarning: (message) => log(`warning: ${message}`),
    onIgnored: (message) => log(message),
    onReady: (file) => {
      const { job, created } = engine.db.createJob(
        { sourceName: file.name, sourcePath: file.path, pathBytes: file.pathBytes, sha256: file.sha256, bytes: file.size, format: config.outputFormat, settings },
        (n) => existsSync(join(config.outbox, n)),
      );
      if (created && job.copy_of !== null) log(`job ${job.id}: ${displayName(file.name)} has the same content and settings as job ${job.copy_of}: its JSON is written from that job's result, without tracking again`);
      else if (created) log(`job ${job.id}: ${displayName(file.name)} queued`);
      else if (job.source_name !== file.name || job.source_path !== file.path) log(`${displayName(file.name)} is already job ${job.id} (${displayName(job.source_name)}): not queued again`);
      afterDone.taken(job.id, file);
      engine.pipeline.wake();
    },
  });
  // Actions from the page: a resumed or retried job may be waiting, a cancel is carried out at once.
  const remote = config.redisUrl ? engine.pipeline.startRemote() : undefined;
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      db: engine.db,
      config,
      remote,
      auth,
      onAction: () => {
        engine.pipeline.checkCancel();
        engine.pipeline.wake();
      },
    });
  } catch (error) {
    await engine.close();
    throw listenError(config, error);
  }
  await watcher.start();
  log(`posepipe: watching ${config.inbox}${watcher.usingPolling ? ' (polling)' : ''}; results go to ${config.outbox}`);
  const exposed = !isLoopback(config.host);
  const others = server.publicUrls.filter((u) => u !== server.url);
  log(`posepipe: status page at ${server.url}${others.length ? `; from other machines: ${others.join(', ')}` : ''}`);
  if (auth) for (const line of loginLines(auth, server.url)) log(line);
  if (remote) log(`posepipe: offering chunks to remote workers on ${redactUrl(config.redisUrl)} (BullMQ queue ${QUEUE_NAME}); they reach this posepipe at ${(exposed ? server.publicUrls : [server.url]).join(' or ')}`);
  if (exposed && !server.tls) console.warn(`posepipe: warning: the page and the worker API are served over plain http on ${config.host}: tokens and results travel in clear on the network; set tlsCert and tlsKey (--tls-cert FILE --tls-key FILE) to serve https`);
  if (engine.slots.length > 1) log(`posepipe: ${engine.slots.length} tracker slots${engine.slots.some((s) => s.device) ? ` (${engine.slots.map((s) => s.device ?? 'default').join(', ')})` : ''}`);

  void stopped.then(() => {
    log('posepipe: stopping (the current chunk is interrupted and resumes on the next start; Ctrl-C again: at once)');
    engine.pipeline.stop();
    for (const tracker of engine.trackers) void tracker.stop();
  });
  const loop = engine.pipeline.runQueued();
  await Promise.race([stopped, loop]);
  await loop.catch(() => {});
  await watcher.close();
  await afterDone.close();
  await server.close();
  await engine.close();
}

/** A listen that failed, as one line naming the address and what to do (exit 2); anything else unchanged. */
function listenError(config: Config, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port} (port from ${config.sources.port})`;
  if (code === 'EADDRINUSE') return new ConfigError(`Cannot serve the status page on ${where}: the port is in use (another posepipe, or another program); stop it, or choose another port with --port N (0: any free port)`);
  if (code === 'EACCES') return new ConfigError(`Cannot serve the status page on ${where}: this user may not listen on ports below 1024; choose another port with --port N, such as 8765`);
  if (code === 'EADDRNOTAVAIL') return new ConfigError(`Cannot serve the status page on ${where}: ${config.host} is not an address of this machine; choose one it has with --host ADDR (127.0.0.1: this machine only)`);
  return error;
}

/** A URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.href;
}
