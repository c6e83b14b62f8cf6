/**
 * People walking in 3D for the 3D view's test, in phalp's shape: 45 joints (OpenPose BODY_25, the
 * 19 extra joints, the model origin) in metres, camera axes (x right, y down, z forward), relative
 * to the body; camera_translation placing each body in front of the camera; the focal length
 * phalp uses (5000 px on a 256 px square over the frame); and the 2D keypoints and boxes those
 * project to through that pinhole camera, so the player's 2D skeletons lie where the 3D ones do.
 */
import type { MergeResult, Person } from '../../src/merge/index.ts';

type V3 = [number, number, number];

/** A person standing, facing the camera (their right on the picture's left), the mid hip at the origin. */
const STANDING: V3[] = [
  [0, -0.62, -0.08], [0, -0.5, 0], [-0.18, -0.48, 0], [-0.22, -0.22, 0], [-0.24, 0.02, -0.02], [0.18, -0.48, 0], [0.22, -0.22, 0], [0.24, 0.02, -0.02],
  [0, 0, 0], [-0.1, 0, 0], [-0.11, 0.42, 0], [-0.11, 0.82, 0.02], [0.1, 0, 0], [0.11, 0.42, 0], [0.11, 0.82, 0.02],
  [-0.03, -0.66, -0.07], [0.03, -0.66, -0.07], [-0.07, -0.65, 0], [0.07, -0.65, 0],
  [0.12, 0.88, -0.1], [0.16, 0.88, -0.08], [0.11, 0.87, 0.04], [-0.12, 0.88, -0.1], [-0.16, 0.88, -0.08], [-0.11, 0.87, 0.04],
];
/** The extra joints 25..36 repeat limb joints of BODY_25 (ankles, knees, hips, wrists, elbows, shoulders). */
const REPEATS = [11, 10, 9, 12, 13, 14, 4, 3, 2, 5, 6, 7];
/** Neck (LSP), top of the head, pelvis, thorax, spine, jaw, head; then the model origin. */
const SPINE: V3[] = [[0, -0.52, 0], [0, -0.78, 0], [0, 0.02, 0], [0, -0.42, 0], [0, -0.2, 0], [0, -0.58, -0.06], [0, -0.68, 0], [0, 0, 0]];

/** Joints of each leg and arm that swing as the person walks (right, then left). */
const RIGHT_LEG = [11, 22, 23, 24];
const LEFT_LEG = [14, 19, 20, 21];

/** The 45 joints at walking phase `phase`: a foot lifted forward, the other back, arms the other way. */
function pose(phase: number): V3[] {
  const j = STANDING.map((v) => [...v] as V3);
  const s = Math.sin(phase);
  for (const k of RIGHT_LEG) {
    j[k]![2] -= 0.25 * s;
    j[k]![1] -= 0.1 * Math.max(0, s);
  }
  for (const k of LEFT_LEG) {
    j[k]![2] += 0.25 * s;
    j[k]![1] -= 0.1 * Math.max(0, -s);
  }
  j[10]![2] -= 0.12 * s;
  j[13]![2] += 0.12 * s;
  j[4]![2] += 0.2 * s;
  j[7]![2] -= 0.2 * s;
  return [...j, ...REPEATS.map((k) => [...j[k]!] as V3), ...SPINE.map((v) => [...v] as V3)];
}

/** The pinhole camera of a frame W×H with phalp's focal length. */
export function focalOf(width: number, height: number): number {
  return (5000 * Math.max(width, height)) / 256;
}

/** Where a point in camera axes falls on the picture (pixels). */
export function project(p: V3, f: number, width: number, height: number): [number, number] {
  return [(f * p[0]) / p[2] + width / 2, (f * p[1]) / p[2] + height / 2];
}

/** Three people across the picture at 65, 80 and 70 m (phalp's long lens), walking to and fro on a floor 1 m below the camera. */
const PEOPLE = [
  { track: 1, x: -1.05, z: 65, swing: 0.3 },
  { track: 2, x: 0, z: 80, swing: -0.25 },
  { track: 3, x: 1.05, z: 70, swing: 0.3 },
];

/** `frames` frames of those three people on a width × height picture, each with phalp's 3D extras and their 2D projections. */
export function walkingPeople(frames: number, width: number, height: number): MergeResult {
  const f = focalOf(width, height);
  const out = Array.from({ length: frames }, (_, index) => {
    const persons: Person[] = PEOPLE.map((who) => {
      const t: V3 = [who.x + who.swing * Math.sin(index * 0.2), 0.12, who.z];
      const joints = pose(index * 0.35 + who.track);
      const keypoints2d = joints.map((j) => project([j[0] + t[0], j[1] + t[1], j[2] + t[2]], f, width, height));
      const xs = keypoints2d.map((k) => k[0]);
      const ys = keypoints2d.map((k) => k[1]);
      const bbox: [number, number, number, number] = [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
      return { track: who.track, bbox, score: 0.9, keypoints2d, joints3d: joints, camera_translation: t, focal_length: f };
    });
    return { index, persons };
  });
  return { frames: out, tracks: PEOPLE.map((p) => ({ id: p.track, firstFrame: 0, lastFrame: frames - 1, frames })) };
}
