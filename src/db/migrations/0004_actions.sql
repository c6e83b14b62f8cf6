-- 0004_actions: cancelled jobs, cancel requests, the intake switch, and durable counters.
-- Why: the status page and CLI cancel jobs (a new job state, so the jobs table is rebuilt for its
-- CHECK list: SQLite cannot alter one; migrations run with foreign keys off, so stages and chunks
-- keep their rows); a cancel of a running job is a request the running posepipe carries out, even
-- when another process asked; pausing intake must reach a running `posepipe start` from the CLI;
-- /metrics needs counters that only grow (rows are reset by resume, so they cannot be counted).

CREATE TABLE jobs_new (
  id INTEGER PRIMARY KEY,
  source_name TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_sha256 TEXT NOT NULL UNIQUE,
  source_bytes INTEGER NOT NULL,
  output_name TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  stage TEXT CHECK (stage IN ('stage', 'probe', 'chunk', 'track', 'merge', 'emit')),
  error_kind TEXT CHECK (error_kind IN ('input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk')),
  error_text TEXT,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  updated_ms INTEGER NOT NULL,
  source_path_bytes BLOB,
  cancel_requested_ms INTEGER
);
INSERT INTO jobs_new (id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes)
  SELECT id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- name: chunks_processed, tracker_seconds, chunk_failures, job_failures, jobs_done; label: the failure kind or ''.
CREATE TABLE counters (
  name TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  value REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (name, label)
);
INSERT INTO counters (name, label, value) SELECT 'chunks_processed', '', count(*) FROM chunks WHERE state = 'done';
INSERT INTO counters (name, label, value) SELECT 'tracker_seconds', '', coalesce(sum(tracker_ms), 0) / 1000.0 FROM chunks;
INSERT INTO counters (name, label, value) SELECT 'jobs_done', '', count(*) FROM jobs WHERE state = 'done';
INSERT INTO counters (name, label, value) SELECT 'job_failures', error_kind, count(*) FROM jobs WHERE state = 'failed' AND error_kind IS NOT NULL GROUP BY error_kind;
