/** The database's public face: open it, and the names other folders use. */
export { Db, StateConflictError, outputFormatOf, outputNameFor, type JobListQuery, type NewJob } from './db.ts';
export { acquireLock, InstanceLockedError } from './lock.ts';
export { DatabaseTooNewError, listMigrations, migrate } from './migrate.ts';
export type { ChunkAttemptRow, ChunkRow, CounterRow, FailureRecord, JobRow, JobSummaryRow, NewChunk, StageRow, TrackerLoadRow, WorkerRow } from './rows.ts';
export { JOB_SORTS, JOB_STATES, STAGE_NAMES, STEP_STATES, type JobSort, type JobState, type StageName, type StepState } from './states.ts';

import { join } from 'node:path';
import { Db } from './db.ts';

/** Open (and migrate) the database in a posepipe home folder. */
export function openDb(home: string, options: { readonly?: boolean } = {}): Db {
  return new Db(join(home, 'posepipe.db'), options);
}
