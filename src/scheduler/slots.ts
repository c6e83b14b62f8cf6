/**
 * The tracker slots of this machine, from the `workers` setting: how many long-lived workers run
 * side by side, and the GPU each is pinned to. A slot pinned to `cuda:N` starts its worker with the
 * backend's own device variable (POSEPIPE_PHALP_DEVICE, POSEPIPE_KEYPOINTS_DEVICE, ...) set to it,
 * and the worker then sees that GPU alone (python/posepipe/pinning.py).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** One slot: the device its worker is pinned to, or none (the backend's own default). */
export interface SlotPlan {
  device?: string;
}

/** Backends that run on a GPU; the others get one slot from `auto` (builtin's CenterNet excepted). */
const GPU_BACKENDS = new Set(['keypoints', 'phalp']);
/**
 * The most slots `auto` gives builtin with its CenterNet detector, one a core: each slot's detector
 * runs on one core (TensorFlow.js's WASM backend, single-threaded), so a second slot on 2 cores
 * tracked 9.5 frames/s where one tracked 6.3 (bench:detect); each costs a worker and a detector
 * process (about 170 MB each, measured).
 */
export const MAX_CPU_SLOTS = 4;

/** The backend's device variable, spelled as the worker's pinning reads it. */
export function deviceVariable(backend: string): string {
  return `POSEPIPE_${backend.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DEVICE`;
}

/** GPUs `nvidia-smi -L` lists (argument array, no shell); 0 where there is no driver. */
export function countNvidiaGpus(): number {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return 0;
  return r.stdout.split('\n').filter((line) => line.startsWith('GPU ')).length;
}

/**
 * `workers` (already validated by config.ts: `auto`, a count, or a device list) as slots. `auto` is
 * one slot per visible GPU for a GPU backend (CUDA_VISIBLE_DEVICES when set, else nvidia-smi), one
 * per CPU core (at most MAX_CPU_SLOTS) for builtin with its CenterNet detector, one otherwise, and
 * one where the user pinned the backend to a device of their choice.
 */
export function planSlots(workers: string, backend: string, env: NodeJS.ProcessEnv, countGpus: () => number = countNvidiaGpus, cores: number = availableParallelism()): SlotPlan[] {
  if (/^\d+$/.test(workers)) return Array.from({ length: Number(workers) }, () => ({}));
  if (workers !== 'auto') return workers.split(',').map((device) => ({ device: device.trim() }));
  if (backend === 'builtin' && (env.POSEPIPE_BUILTIN_DETECTOR || 'centernet') === 'centernet') {
    return Array.from({ length: Math.max(1, Math.min(MAX_CPU_SLOTS, cores)) }, () => ({}));
  }
  const chosen = env[deviceVariable(backend)];
  if (!GPU_BACKENDS.has(backend) || (chosen !== undefined && chosen !== '' && chosen !== 'auto')) return [{}];
  const visible = env.CUDA_VISIBLE_DEVICES;
  const gpus = visible !== undefined ? visible.split(',').filter((d) => d.trim() !== '').length : countGpus();
  return gpus >= 2 ? Array.from({ length: gpus }, (_, i) => ({ device: `cuda:${i}` })) : [{}];
}
