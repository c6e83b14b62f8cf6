import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Config } from '../config.ts';
import { QUEUE_NAME } from '../scheduler/index.ts';
import { createProgress, displayName, terminalSafe } from '../progress.ts';
import { createInboxWatcher } from '../watcher/index.ts';
import { isLoopback, loginLines, openPageAuth, startServer } from '../server/index.ts';
import { openEngine } from './shared.ts';

/** `posepipe start`: watch the inbox, run queued jobs one at a time, serve the status page; stops on SIGINT/SIGTERM. */
export async function startCommand(config: Config): Promise<number> {
  const log = (line: string) => console.log(terminalSafe(line));
  if (config.redisUrl && config.workerToken === '' && !isLoopback(config.host)) {
    throw new ConfigError(`posepipe start listens on ${config.host} with a Redis queue for remote workers: set POSEPIPE_WORKER_TOKEN (the same on every worker, e.g. from: openssl rand -hex 24), or the worker endpoints would be open to anyone`);
  }
  // The login (auth=off beyond loopback, a bad token file) is settled before anything is opened.
  const auth = openPageAuth(config, { warn: (line) => log(line) });
  // Signals are taken from the first moment: one that arrives while starting up stops us once ready.
  let resolveStop!: () => void;
  const stopped = new Promise<void>((r) => (resolveStop = r));
  const onSignal = () => resolveStop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const engine = openEngine(config, { onEvent: createProgress(process.stdout, Boolean(process.stdout.isTTY)), log });
  const watcher = createInboxWatcher({
    inbox: config.inbox,
    readyMs: config.readySeconds * 1000,
    checkEveryMs: Math.max(50, Math.min(500, (config.readySeconds * 1000) / 4)),
    rescanMs: config.rescanSeconds * 1000,
    polling: config.polling,
    onWarning: (message) => log(`warning: ${message}`),
    onReady: (file) => {
      const { job, created } = engine.db.createJob(
        { sourceName: file.name, sourcePath: file.path, pathBytes: file.pathBytes, sha256: file.sha256, bytes: file.size, format: config.outputFormat },
        (n) => existsSync(join(config.outbox, n)),
      );
      if (created && job.copy_of !== null) log(`job ${job.id}: ${displayName(file.name)} has the same content as job ${job.copy_of}: its JSON is written from that job's result, without tracking again`);
      else if (created) log(`job ${job.id}: ${displayName(file.name)} queued`);
      else if (job.source_name !== file.name || job.source_path !== file.path) log(`${displayName(file.name)} is already job ${job.id} (${displayName(job.source_name)}): not queued again`);
      engine.pipeline.wake();
    },
  });
  // Actions from the page: a resumed or retried job may be waiting, a cancel is carried out at once.
  const remote = config.redisUrl ? engine.pipeline.startRemote() : undefined;
  const server = await startServer({
    db: engine.db,
    config,
    remote,
    auth,
    onAction: () => {
      engine.pipeline.checkCancel();
      engine.pipeline.wake();
    },
  });
  await watcher.start();
  log(`posepipe: watching ${config.inbox}${watcher.usingPolling ? ' (polling)' : ''}; results go to ${config.outbox}`);
  log(`posepipe: status page at ${server.url}`);
  if (auth) {
    // An address on every interface is not one a browser can use: the login address is loopback's.
    const base = new URL(server.url);
    if (base.hostname === '0.0.0.0' || base.hostname === '[::]') base.hostname = '127.0.0.1';
    for (const line of loginLines(auth, base.href)) log(line);
  }
  if (remote) log(`posepipe: offering chunks to remote workers on ${redactUrl(config.redisUrl)} (BullMQ queue ${QUEUE_NAME}); they reach this posepipe at ${server.url}`);
  if (engine.slots.length > 1) log(`posepipe: ${engine.slots.length} tracker slots${engine.slots.some((s) => s.device) ? ` (${engine.slots.map((s) => s.device ?? 'default').join(', ')})` : ''}`);

  void stopped.then(() => {
    log('posepipe: stopping (the current chunk is interrupted and resumes on the next start)');
    engine.pipeline.stop();
    for (const tracker of engine.trackers) void tracker.stop();
  });
  const loop = engine.pipeline.runQueued();
  await Promise.race([stopped, loop]);
  await loop.catch(() => {});
  await watcher.close();
  await server.close();
  await engine.close();
  return 0;
}

/** A URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.href;
}
