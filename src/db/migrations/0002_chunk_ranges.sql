-- 0002_chunk_ranges: a chunk row may track a range of its chunk file, not always all of it.
-- Why: a chunk that runs out of GPU memory is split in halves that track ranges of the same
-- file (file_start = first frame within the file); `splits` counts how often it was halved.
ALTER TABLE chunks ADD COLUMN file_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chunks ADD COLUMN splits INTEGER NOT NULL DEFAULT 0;
