-- 0006_copies: a video dropped again under another name is its own job, a copy of the first.
-- Why: the same content under a second name produced nothing in the outbox ("same content as job
-- 5: not queued again") and its user waited for a file that never came. A copy (copy_of = the
-- original's id) is answered from the original's result, without tracking again. The sha256 stays
-- unique among originals (a partial unique index), so content is still tracked once; the jobs
-- table is rebuilt because SQLite cannot drop a column's UNIQUE (foreign keys are off while
-- migrations run, so stages and chunks keep their rows).

CREATE TABLE jobs_new (
  id INTEGER PRIMARY KEY,
  source_name TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_sha256 TEXT NOT NULL,
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
  cancel_requested_ms INTEGER,
  priority INTEGER NOT NULL DEFAULT 0,
  copy_of INTEGER
);
INSERT INTO jobs_new (id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes, cancel_requested_ms, priority)
  SELECT id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes, cancel_requested_ms, priority FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, id);
CREATE UNIQUE INDEX jobs_original_by_sha256 ON jobs (source_sha256) WHERE copy_of IS NULL;
CREATE INDEX jobs_by_copy_of ON jobs (copy_of) WHERE copy_of IS NOT NULL;
