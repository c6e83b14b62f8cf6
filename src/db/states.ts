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
