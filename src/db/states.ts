/** States and names, written once here and in the migration's CHECK lists (a test keeps them equal). */

/** A job: queued → running → done | failed | cancelled; `resume` makes failed or cancelled queued again. */
export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A stage or chunk row. */
export const STEP_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type StepState = (typeof STEP_STATES)[number];

/** The stages, in the order the pipeline walks them. */
export const STAGE_NAMES = ['stage', 'probe', 'chunk', 'track', 'merge', 'emit', 'preview'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** What a job list can be sorted by (a URL's `sort`); each maps to a fixed ORDER BY in src/db, never to SQL text from a request. */
export const JOB_SORTS = ['created', 'finished', 'name', 'state'] as const;
export type JobSort = (typeof JOB_SORTS)[number];
