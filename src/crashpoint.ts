/**
 * Test hook: `POSEPIPE_CRASHPOINT=<name>:<n>` makes posepipe SIGKILL itself the n-th time it
 * reaches the named point, so tests can kill it between any two steps instead of guessing by time.
 * Points: staged, chunked, chunk-done, merged, emitted (each right after its files are in place,
 * before or after the database records it — see the call sites), and finished (a job recorded done,
 * just before `start` moves or deletes its inbox file).
 */
export const CRASH_POINTS = ['staged', 'chunked', 'chunk-done', 'merged', 'emitted', 'finished'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Parse the variable's value; an unknown point is a configuration mistake, said loudly. */
export function parseCrashpoint(value: string | undefined): { name: CrashPoint; nth: number } | undefined {
  if (!value) return undefined;
  const [name, nth = '1'] = value.split(':');
  if (!CRASH_POINTS.includes(name as CrashPoint) || !/^\d+$/.test(nth)) {
    throw new Error(`POSEPIPE_CRASHPOINT=${JSON.stringify(value)}: expected <point>:<n> with a point among ${CRASH_POINTS.join(', ')}`);
  }
  return { name: name as CrashPoint, nth: Number(nth) };
}

/** Counts arrivals and kills this process at the configured one. */
export class Crashpoints {
  readonly #target: { name: CrashPoint; nth: number } | undefined;
  #seen = 0;

  constructor(value: string | undefined) {
    this.#target = parseCrashpoint(value);
  }

  /** Reached a point: die here if it is the configured one. */
  reach(name: CrashPoint): void {
    if (this.#target?.name !== name) return;
    if (++this.#seen === this.#target.nth) process.kill(process.pid, 'SIGKILL');
  }
}
