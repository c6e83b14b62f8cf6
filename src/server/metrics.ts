/**
 * `/metrics` in the Prometheus text exposition format (0.0.4): gauges read from the job table,
 * counters from the durable counters (they survive restarts, as Prometheus expects of a counter).
 * Every series is present from the start, zeros included, so rate() and alerts need no special case.
 */
import { JOB_STATES, type Db } from '../db/index.ts';
import { FAILURE_KINDS } from '../errors.ts';

/** The content type Prometheus scrapers expect. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function family(name: string, type: 'gauge' | 'counter', help: string, samples: [labels: string, value: number][]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : '-Inf'}`);
  return lines.join('\n');
}

/** The exposition text, with the number of live-update clients connected now. */
export function metricsText(db: Db, liveClients: number): string {
  const jobs = db.countJobsByState();
  const counters = db.listCounters();
  const total = (name: string) => counters.filter((c) => c.name === name).reduce((n, c) => n + c.value, 0);
  const byKind = (name: string): [string, number][] => {
    const kinds = new Set<string>([...FAILURE_KINDS, ...counters.filter((c) => c.name === name).map((c) => c.label)]);
    return [...kinds].map((k) => [`{kind="${label(k)}"}`, counters.find((c) => c.name === name && c.label === k)?.value ?? 0]);
  };
  return [
    family('posepipe_jobs', 'gauge', 'Jobs by state.', JOB_STATES.map((s) => [`{state="${s}"}`, jobs[s]])),
    family('posepipe_queue_depth', 'gauge', 'Jobs queued and waiting to start.', [['', jobs.queued]]),
    family('posepipe_chunks_pending', 'gauge', 'Chunks not yet done in queued and running jobs.', [['', db.pendingChunkCount()]]),
    family('posepipe_intake_paused', 'gauge', '1 while intake is paused (no queued job starts), else 0.', [['', db.intakePaused() ? 1 : 0]]),
    family('posepipe_redis_down', 'gauge', '1 while the Redis of remote workers does not answer, else 0.', [['', db.redisDownSince() === undefined ? 0 : 1]]),
    family('posepipe_remote_queue_paused', 'gauge', '1 while the queue of remote workers is paused in Redis (not by posepipe), else 0.', [['', db.queuePausedSince() === undefined ? 0 : 1]]),
    family('posepipe_live_clients', 'gauge', 'Status pages connected for live updates.', [['', liveClients]]),
    family('posepipe_chunks_processed_total', 'counter', 'Chunks tracked to completion.', [['', total('chunks_processed')]]),
    family('posepipe_tracker_seconds_total', 'counter', 'Seconds the tracker worker spent on finished chunks.', [['', total('tracker_seconds')]]),
    family('posepipe_jobs_done_total', 'counter', 'Jobs finished with an output file.', [['', total('jobs_done')]]),
    family('posepipe_chunk_failures_total', 'counter', 'Chunk attempts that failed, by failure kind.', byKind('chunk_failures')),
    family('posepipe_job_failures_total', 'counter', 'Jobs that failed, by failure kind.', byKind('job_failures')),
    family('posepipe_sqlite_rows_written_total', 'counter', 'Rows this posepipe has written to its database since it started (SQLite total_changes).', [['', db.rowsWritten()]]),
  ].join('\n') + '\n';
}
