/** The `workers` setting: validated by config.ts, turned into tracker slots by scheduler/slots.ts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { deviceVariable, MAX_CPU_SLOTS, planSlots } from '../../src/scheduler/index.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';

const env = { HOME: '/home/u' };
const workspace = workspacesPerTest();
const noGpu = () => 0;
const fourGpus = () => 4;

describe('the workers setting', () => {
  it('takes auto, a count, or a device list from any source, normalised', () => {
    expect(loadConfig({ env, wsl: false }).workers).toBe('auto');
    expect(loadConfig({ env: { ...env, POSEPIPE_WORKERS: '3' }, wsl: false }).workers).toBe('3');
    expect(loadConfig({ env, flags: { workers: ' cuda:0, cuda:1 ' }, wsl: false }).workers).toBe('cuda:0,cuda:1');
    const dir = workspace('workers').root;
    writeFileSync(join(dir, 'posepipe.config.json'), JSON.stringify({ workers: 2 }));
    expect(loadConfig({ cwd: dir, env, wsl: false }).workers).toBe('2');
    // 0: a coordinator without local slots, only with a queue for remote workers.
    expect(loadConfig({ env: { ...env, POSEPIPE_WORKERS: '0', POSEPIPE_REDIS_URL: 'redis://127.0.0.1:6379' }, wsl: false }).workers).toBe('0');
  });

  it('takes a Redis URL and a worker token, refusing what cannot be one', () => {
    expect(loadConfig({ env: { ...env, POSEPIPE_REDIS_URL: 'redis://gpu-box:6380' }, wsl: false }).redisUrl).toBe('redis://gpu-box:6380');
    expect(() => loadConfig({ env: { ...env, POSEPIPE_REDIS_URL: 'http://gpu-box:6380' }, wsl: false })).toThrow('Invalid redisUrl (from POSEPIPE_REDIS_URL): "http://gpu-box:6380" is not a redis://HOST:PORT');
    expect(() => loadConfig({ env: { ...env, POSEPIPE_WORKER_TOKEN: 'short' }, wsl: false })).toThrow('Invalid workerToken (from POSEPIPE_WORKER_TOKEN): a token is at least 16 characters');
  });

  it.each([
    ['0', 'only hands out work to remote workers: set POSEPIPE_REDIS_URL too'],
    ['65', 'above the maximum 64'],
    ['gpu:1', '(bad: "gpu:1")'],
    ['cuda:0,', '(bad: "")'],
    ['cuda:x', '(bad: "cuda:x")'],
  ])('refuses %s, naming the key and the source', (value, why) => {
    expect(() => loadConfig({ env: { ...env, POSEPIPE_WORKERS: value }, wsl: false })).toThrow(`Invalid workers (from POSEPIPE_WORKERS)`);
    expect(() => loadConfig({ env: { ...env, POSEPIPE_WORKERS: value }, wsl: false })).toThrow(why);
  });
});

describe('tracker slots', () => {
  it('a count is that many slots on the backend\'s own device; a list pins one slot to each device', () => {
    expect(planSlots('3', 'builtin', {}, noGpu)).toEqual([{}, {}, {}]);
    expect(planSlots('cuda:0,cuda:1,cuda:1', 'phalp', {}, noGpu)).toEqual([{ device: 'cuda:0' }, { device: 'cuda:1' }, { device: 'cuda:1' }]);
  });

  it('auto: one slot per visible GPU for a GPU backend, else one', () => {
    expect(planSlots('auto', 'phalp', {}, fourGpus)).toEqual(['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3'].map((device) => ({ device })));
    expect(planSlots('auto', 'keypoints', { CUDA_VISIBLE_DEVICES: '5,7' }, fourGpus)).toEqual([{ device: 'cuda:0' }, { device: 'cuda:1' }]);
    expect(planSlots('auto', 'keypoints', {}, () => 1)).toEqual([{}]);
    expect(planSlots('auto', 'phalp', {}, noGpu)).toEqual([{}]);
    expect(planSlots('auto', 'builtin', { POSEPIPE_BUILTIN_DETECTOR: 'hog' }, fourGpus, 8)).toEqual([{}]);
    // The user chose one GPU for the backend: that one alone.
    expect(planSlots('auto', 'phalp', { POSEPIPE_PHALP_DEVICE: 'cuda:2' }, fourGpus)).toEqual([{}]);
    expect(planSlots('auto', 'phalp', { POSEPIPE_PHALP_DEVICE: 'auto' }, fourGpus)).toHaveLength(4);
  });

  it('auto: builtin with its CenterNet detector (the default) gets a slot a CPU core, up to MAX_CPU_SLOTS', () => {
    expect(planSlots('auto', 'builtin', {}, noGpu, 2)).toEqual([{}, {}]);
    expect(planSlots('auto', 'builtin', { POSEPIPE_BUILTIN_DETECTOR: 'centernet' }, noGpu, 1)).toEqual([{}]);
    expect(planSlots('auto', 'builtin', { POSEPIPE_BUILTIN_DETECTOR: '' }, fourGpus, 64)).toHaveLength(MAX_CPU_SLOTS);
    expect(planSlots('2', 'builtin', {}, noGpu, 16)).toEqual([{}, {}]);
  });

  it('names the backend\'s device variable as the worker\'s pinning reads it', () => {
    expect(deviceVariable('phalp')).toBe('POSEPIPE_PHALP_DEVICE');
    expect(deviceVariable('test-fixture')).toBe('POSEPIPE_TEST_FIXTURE_DEVICE');
  });
});
