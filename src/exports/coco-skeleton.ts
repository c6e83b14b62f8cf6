/**
 * COCO's person keypoints (their names and skeleton, as in COCO's person_keypoints annotations) and
 * where phalp's 45 points hold them: phalp's first 25 are OpenPose BODY_25 (0 nose, 1 neck,
 * 2-4 right shoulder, elbow, wrist, 5-7 left, 8 mid hip, 9-11 right hip, knee, ankle, 12-14 left,
 * 15/16 right/left eye, 17/18 right/left ear, then the feet).
 */

/** COCO's 17 keypoint names, in COCO's order. */
export const COCO_KEYPOINTS: readonly string[] = Object.freeze([
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
  'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
]);

/** COCO's person skeleton: pairs of keypoints, numbered from 1 as COCO's own file numbers them. */
export const COCO_SKELETON: readonly (readonly [number, number])[] = Object.freeze([
  [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
  [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
] as const);

/** For each COCO keypoint in order, the index of the same point among phalp's 45 (OpenPose BODY_25 first). */
export const PHALP_TO_COCO: readonly number[] = Object.freeze([0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]);
