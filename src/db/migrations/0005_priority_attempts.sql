-- 0005_priority_attempts: a per-job priority, a row per chunk attempt saying where it ran, and the slots.
-- Why: several jobs are now in flight at once (the next ones prepared while the slots track, a
-- finished one merged while the slots take the next); a user pushes one video to the front with a
-- priority (higher first, then queue order). Each attempt's slot and times are what the page shows
-- as "where it ran", what the benchmark measures busy time and idle gaps from, and what fences a
-- late result from an attempt that is no longer current.

ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_priority ON jobs (state, priority DESC, id);

ALTER TABLE chunks ADD COLUMN ran_on TEXT;

-- outcome: NULL while it runs; released = given back uncounted (a stop, a split beside it).
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
CREATE INDEX chunk_attempts_by_job ON chunk_attempts (job_id, first_frame);

-- The tracker slots of the posepipe running here (later also remote workers), as the page and
-- `status --json` show them: health (a slot whose backend cannot load is unhealthy, with its
-- error), the chunk it tracks and how fast. One row per slot name; rewritten at each start.
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
