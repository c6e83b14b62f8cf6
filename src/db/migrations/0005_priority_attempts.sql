-- 0005_priority_attempts: a per-job priority, and a row per chunk attempt saying where it ran.
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
