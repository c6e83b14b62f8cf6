import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../repo-root.ts';
import type Database from 'better-sqlite3';

const MIGRATIONS_DIR = repoPath('src', 'db', 'migrations');

/** A numbered, append-only migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this code, in order. */
export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(MIGRATIONS_DIR, f), 'utf8') }));
}

/** Refused: the database was written by a newer posepipe. */
export class DatabaseTooNewError extends Error {
  constructor(file: string, dbVersion: number, codeVersion: number) {
    super(`Database ${file} is at schema version ${dbVersion}, but this posepipe knows only up to ${codeVersion}: upgrade posepipe or use another POSEPIPE_HOME`);
    this.name = 'DatabaseTooNewError';
  }
}

/** Apply every migration not yet in the ledger, each in its own transaction. */
export function migrate(db: Database.Database, file: string): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)');
  const migrations = listMigrations();
  const latest = migrations.at(-1)?.version ?? 0;
  const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  if (current > latest) throw new DatabaseTooNewError(file, current, latest);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
  return latest;
}
