/**
 * Rotation matrix -> axis-angle, robust over the whole range: through a unit quaternion found by
 * Shepperd's method (from the largest of the trace and the diagonal, so no step divides by a small
 * number near angle 0 or pi), then angle = 2 atan2(|v|, w), which keeps full precision at both ends
 * (acos of the trace loses half the digits near 0 and pi). A matrix that is a rotation only to a
 * few decimals (posepipe's output keeps 4) gives the rotation nearest in this sense.
 */

/** Axis-angle (x, y, z; angle in [0, pi] times the unit axis) of a 3x3 rotation matrix given row by row (9 values from `offset`). */
export function axisAngle(m: ArrayLike<number>, offset = 0): [number, number, number] {
  const r = (i: number, j: number) => m[offset + 3 * i + j]!;
  const trace = r(0, 0) + r(1, 1) + r(2, 2);
  let w: number;
  let x: number;
  let y: number;
  let z: number;
  if (trace >= r(0, 0) && trace >= r(1, 1) && trace >= r(2, 2)) {
    const s = 2 * Math.sqrt(Math.max(1 + trace, 0));
    w = s / 4;
    x = (r(2, 1) - r(1, 2)) / s;
    y = (r(0, 2) - r(2, 0)) / s;
    z = (r(1, 0) - r(0, 1)) / s;
  } else if (r(0, 0) >= r(1, 1) && r(0, 0) >= r(2, 2)) {
    const s = 2 * Math.sqrt(Math.max(1 + r(0, 0) - r(1, 1) - r(2, 2), 0));
    w = (r(2, 1) - r(1, 2)) / s;
    x = s / 4;
    y = (r(0, 1) + r(1, 0)) / s;
    z = (r(0, 2) + r(2, 0)) / s;
  } else if (r(1, 1) >= r(2, 2)) {
    const s = 2 * Math.sqrt(Math.max(1 - r(0, 0) + r(1, 1) - r(2, 2), 0));
    w = (r(0, 2) - r(2, 0)) / s;
    x = (r(0, 1) + r(1, 0)) / s;
    y = s / 4;
    z = (r(1, 2) + r(2, 1)) / s;
  } else {
    const s = 2 * Math.sqrt(Math.max(1 - r(0, 0) - r(1, 1) + r(2, 2), 0));
    w = (r(1, 0) - r(0, 1)) / s;
    x = (r(0, 2) + r(2, 0)) / s;
    y = (r(1, 2) + r(2, 1)) / s;
    z = s / 4;
  }
  if (w < 0) [w, x, y, z] = [-w, -x, -y, -z]; // the same rotation, angle <= pi
  const sin = Math.hypot(x, y, z);
  if (sin === 0) return [0, 0, 0];
  // The unit axis v / |v| times the angle; atan2 needs no normalised quaternion and stays exact
  // for a tiny |v| (atan2(s, w) = s / w there), so no series is needed near angle 0.
  const scale = (2 * Math.atan2(sin, w)) / sin;
  return [x * scale, y * scale, z * scale];
}
