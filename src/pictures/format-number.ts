/**
 * Numbers as they go into the status page's HTML and SVG. Every number is formatted here, and a
 * value that is not a finite number (NaN, Infinity, a string smuggled in) throws TypeError: a
 * bug upstream, never text in the page.
 */

/** A finite number with at most `decimals` decimals, no "-0". */
export function formatNumber(value: number, decimals = 2): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`pictures: expected a finite number, got ${String(value)}`);
  const rounded = Number(value.toFixed(decimals));
  return String(rounded === 0 ? 0 : rounded);
}

/** A safe integer (an id, a frame index, a count). */
export function formatInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`pictures: expected an integer, got ${String(value)}`);
  return String(value);
}

/** Seconds as a clock: "7.5 s" under a minute when `fine`, else "m:ss" or "h:mm:ss". */
export function formatClock(seconds: number, fine: boolean): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new TypeError(`pictures: expected seconds >= 0, got ${String(seconds)}`);
  if (fine && seconds < 60) return `${formatNumber(seconds, 2)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
