-- 0009_tracker_kind: a failure kind of its own, tracker, for an exception raised inside the
-- tracker backend (or output it returned that posepipe cannot use), which was labelled internal
-- (posepipe's own bug). internal now means posepipe's bug only. The error kinds are CHECK lists,
-- which SQLite cannot alter: jobs, stages and chunks are rebuilt (foreign keys are off while
-- migrations run, so every row keeps its place). Rows already recorded keep their kind.

CREATE TABLE jobs_new (
  id INTEGER PRIMARY KEY,
  source_name TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_sha256 TEXT NOT NULL,
  source_bytes INTEGER NOT NULL,
  output_name TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  stage TEXT CHECK (stage IN ('stage', 'probe', 'chunk', 'track', 'merge', 'emit', 'preview')),
  error_kind TEXT CHECK (error_kind IN ('input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk', 'tracker')),
  error_text TEXT,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  updated_ms INTEGER NOT NULL,
  source_path_bytes BLOB,
  cancel_requested_ms INTEGER,
  priority INTEGER NOT NULL DEFAULT 0,
  copy_of INTEGER,
  settings_json TEXT,
  settings_key TEXT,
  rerun_of INTEGER
);
INSERT INTO jobs_new SELECT id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes, cancel_requested_ms, priority, copy_of, settings_json, settings_key, rerun_of FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, id);
CREATE INDEX jobs_original_by_work ON jobs (source_sha256, settings_key) WHERE copy_of IS NULL;
CREATE INDEX jobs_by_copy_of ON jobs (copy_of) WHERE copy_of IS NOT NULL;

CREATE TABLE stages_new (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (name IN ('stage', 'probe', 'chunk', 'track', 'merge', 'emit', 'preview')),
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER,
  finished_ms INTEGER,
  duration_ms INTEGER,
  error_kind TEXT CHECK (error_kind IN ('input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk', 'tracker')),
  error_text TEXT,
  output_json TEXT,
  PRIMARY KEY (job_id, name)
);
INSERT INTO stages_new SELECT job_id, name, state, attempts, started_ms, finished_ms, duration_ms, error_kind, error_text, output_json FROM stages;
DROP TABLE stages;
ALTER TABLE stages_new RENAME TO stages;

CREATE TABLE chunks_new (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  file TEXT NOT NULL,
  first_frame INTEGER NOT NULL,
  frame_count INTEGER NOT NULL,
  overlap_frames INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  frames_done INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER,
  finished_ms INTEGER,
  tracker_ms INTEGER,
  exit_code INTEGER,
  signal TEXT,
  error_kind TEXT CHECK (error_kind IN ('input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk', 'tracker')),
  error_text TEXT,
  stderr_tail TEXT,
  result_file TEXT,
  result_bytes INTEGER,
  result_sha256 TEXT,
  file_start INTEGER NOT NULL DEFAULT 0,
  splits INTEGER NOT NULL DEFAULT 0,
  ran_on TEXT,
  PRIMARY KEY (job_id, idx)
);
INSERT INTO chunks_new SELECT job_id, idx, file, first_frame, frame_count, overlap_frames, state, attempts, frames_done, started_ms, finished_ms, tracker_ms, exit_code, signal, error_kind, error_text, stderr_tail, result_file, result_bytes, result_sha256, file_start, splits, ran_on FROM chunks;
DROP TABLE chunks;
ALTER TABLE chunks_new RENAME TO chunks;
CREATE INDEX chunks_by_state ON chunks (state, job_id);
