-- 0007_preview: a seventh stage, preview, after emit: a browser-friendly video (H.264 in MP4, at
-- most previewSize on its shorter side, fast start) and the player's frame index, so the job page
-- plays the video with every person's box drawn over it and fetches only the frames watched.
-- Why after emit: the user's JSON is never held back by a transcode. The stage names are CHECK
-- lists, which SQLite cannot alter: jobs and stages are rebuilt (foreign keys are off while
-- migrations run, so chunks keep their rows). Jobs not yet done get a pending preview stage; jobs
-- already done keep their six stages (their page says they were made before the player).

CREATE TABLE jobs_new (
  id INTEGER PRIMARY KEY,
  source_name TEXT NOT NULL,
  source_path TEXT NOT NULL,
  source_sha256 TEXT NOT NULL,
  source_bytes INTEGER NOT NULL,
  output_name TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  stage TEXT CHECK (stage IN ('stage', 'probe', 'chunk', 'track', 'merge', 'emit', 'preview')),
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
INSERT INTO jobs_new (id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes, cancel_requested_ms, priority, copy_of)
  SELECT id, source_name, source_path, source_sha256, source_bytes, output_name, state, stage, error_kind, error_text, created_ms, started_ms, finished_ms, updated_ms, source_path_bytes, cancel_requested_ms, priority, copy_of FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, id);
CREATE UNIQUE INDEX jobs_original_by_sha256 ON jobs (source_sha256) WHERE copy_of IS NULL;
CREATE INDEX jobs_by_copy_of ON jobs (copy_of) WHERE copy_of IS NOT NULL;

CREATE TABLE stages_new (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (name IN ('stage', 'probe', 'chunk', 'track', 'merge', 'emit', 'preview')),
  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER,
  finished_ms INTEGER,
  duration_ms INTEGER,
  error_kind TEXT CHECK (error_kind IN ('input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk')),
  error_text TEXT,
  output_json TEXT,
  PRIMARY KEY (job_id, name)
);
INSERT INTO stages_new SELECT job_id, name, state, attempts, started_ms, finished_ms, duration_ms, error_kind, error_text, output_json FROM stages;
DROP TABLE stages;
ALTER TABLE stages_new RENAME TO stages;
INSERT INTO stages (job_id, name) SELECT id, 'preview' FROM jobs WHERE copy_of IS NULL AND state <> 'done';
