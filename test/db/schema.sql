CREATE TABLE chunk_attempts (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  first_frame INTEGER NOT NULL,
  frame_count INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  ran_on TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  outcome TEXT CHECK (outcome IN ('done', 'failed', 'released'))
);
CREATE TABLE "chunks" (
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
CREATE TABLE counters (
  name TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  value REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (name, label)
);
CREATE TABLE "jobs" (
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
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL);
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE "stages" (
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
CREATE TABLE tracker_loads (
  id INTEGER PRIMARY KEY,
  backend TEXT NOT NULL,
  version TEXT NOT NULL,
  device TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  load_ms INTEGER NOT NULL
);
CREATE TABLE workers (
  name TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  device TEXT,
  health TEXT NOT NULL CHECK (health IN ('starting', 'ready', 'unhealthy', 'stopped')),
  error_text TEXT,
  job_id INTEGER,
  chunk_idx INTEGER,
  frames_per_second REAL,
  last_seen_ms INTEGER NOT NULL
);
CREATE INDEX chunk_attempts_by_job ON chunk_attempts (job_id, first_frame);
CREATE INDEX chunks_by_state ON chunks (state, job_id);
CREATE INDEX jobs_by_copy_of ON jobs (copy_of) WHERE copy_of IS NOT NULL;
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, id);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_original_by_work ON jobs (source_sha256, settings_key) WHERE copy_of IS NULL;
