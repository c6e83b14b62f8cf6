-- 0003_source_path_bytes: a job remembers its source path as raw bytes when the name is not valid UTF-8.
-- Why: source_path is TEXT, and a name with bytes that are not UTF-8 decodes to U+FFFD, which no
-- longer names the file; staging reads source_path_bytes instead. NULL for every other path.
ALTER TABLE jobs ADD COLUMN source_path_bytes BLOB;
