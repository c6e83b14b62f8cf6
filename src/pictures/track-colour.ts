import { formatInteger } from './format-number.ts';

/** The golden angle in degrees: consecutive ids get hues far apart, and a hue repeats only after many ids. */
const GOLDEN_ANGLE = 137.508;

/**
 * A track's colour, the same on every thumbnail and on the timeline, and the same on every page
 * load: a saturated hue from its id. `label` gives a lighter shade of it for text drawn over a
 * dark halo (blue and purple at the boxes' lightness are hard to read on black).
 */
export function trackColour(id: number, label = false): string {
  formatInteger(id);
  const hue = (((id * GOLDEN_ANGLE) % 360) + 360) % 360;
  return `hsl(${hue.toFixed(1)},85%,${label ? 75 : 55}%)`;
}
