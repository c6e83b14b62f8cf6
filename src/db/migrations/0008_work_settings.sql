-- 0008_work_settings: a copy is a copy only of the same work. Each job records the settings that
-- decide its output (backend, its settings, chunking, overlap, extras, format) as canonical JSON and
-- that JSON's sha256; a video dropped again is a copy only of an original with the same content AND
-- the same key, otherwise it is tracked as a new job. Why: a second name for the same bytes was
-- answered from the first job even after the backend changed, so the JSON named the old backend.
-- The content hash stops being unique among originals (the same bytes under two settings are two
-- originals, and a re-run is another). Jobs made before this have no recorded settings (NULL): they
-- keep their results, but a new drop is never answered from them. rerun_of names the job a re-run
-- ("track again with today's settings") was made from.

ALTER TABLE jobs ADD COLUMN settings_json TEXT;
ALTER TABLE jobs ADD COLUMN settings_key TEXT;
ALTER TABLE jobs ADD COLUMN rerun_of INTEGER;
DROP INDEX jobs_original_by_sha256;
CREATE INDEX jobs_original_by_work ON jobs (source_sha256, settings_key) WHERE copy_of IS NULL;
