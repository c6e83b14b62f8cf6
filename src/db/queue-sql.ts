/**
 * A job's state as every screen shows it, in SQL. The `state` column says whether posepipe has
 * claimed a job (claiming starts its stage, probe and chunk steps, ahead of a free slot); a claimed
 * job is shown running only once a tracker slot has started one of its chunks in this run (an
 * attempt that began at or after its claim), or once it is past tracking (merge, emit, preview; a
 * copy's emit). Before that it is shown queued: preparing, or ready and waiting for a slot. These
 * fragments are the one definition the lists, their filters, the counts and the queue use.
 */

/** The stages during which a claimed job that no slot has tracked yet is still waiting. */
const WAITING_STAGES = "('stage', 'probe', 'chunk', 'track')";

/** When a slot first started a chunk of the current run of the job row `t` (its clock's start), or NULL. */
export function trackingSinceSql(t: string): string {
  return `(SELECT min(a.started_ms) FROM chunk_attempts AS a WHERE a.job_id = ${t}.id AND a.started_ms >= ${t}.started_ms)`;
}

/** True for a claimed job row `t` that no slot has tracked in this run and that is not past tracking: shown queued. */
export function waitingSql(t: string): string {
  return `(${t}.state = 'running' AND ${t}.stage IN ${WAITING_STAGES} AND NOT EXISTS (SELECT 1 FROM chunk_attempts AS a WHERE a.job_id = ${t}.id AND a.started_ms >= ${t}.started_ms))`;
}

/** The state job row `t` is shown in. */
export function shownStateSql(t: string): string {
  return `(CASE WHEN ${waitingSql(t)} THEN 'queued' ELSE ${t}.state END)`;
}

/**
 * The ids of the jobs shown queued, in the order they will be served. The claimed ones (preparing
 * or ready) come first: the next free slot goes to one of them, the highest priority, then the
 * oldest (the track loop's ranking), while one not claimed yet must be claimed and prepared first.
 * Then the others as claimNextJob takes them: highest priority, then oldest; a copy only once its
 * original is done (claimNextJob passes it over until then: it waits for its original, not a slot).
 */
export const QUEUE_ORDER_SQL = `SELECT id FROM (
  SELECT j.id, 0 AS later, j.priority FROM jobs AS j WHERE ${waitingSql('j')}
  UNION ALL
  SELECT j.id, 1 AS later, j.priority FROM jobs AS j
  WHERE j.state = 'queued' AND (j.copy_of IS NULL OR j.copy_of IN (SELECT id FROM jobs WHERE state = 'done'))
) ORDER BY later, priority DESC, id`;
