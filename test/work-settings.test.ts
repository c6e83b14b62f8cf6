/** The settings a job's output depends on: what counts, and a key that does not depend on key order. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { canonicalJson, describeSettings, settingsRecord, workSettings } from '../src/work-settings.ts';

const config = (env: Record<string, string>, flags: Record<string, string> = {}) => loadConfig({ env: { HOME: '/tmp/nohome', ...env }, flags, cwd: '/tmp', wsl: false });

describe('work settings', () => {
  it("record the backend's own output settings, not its device, batch or test faults, nor another backend's", () => {
    const s = workSettings(
      config({
        POSEPIPE_TRACKER: 'phalp',
        POSEPIPE_PHALP_PRECISION: 'fp32',
        POSEPIPE_PHALP_LOW_MEMORY: '1',
        POSEPIPE_PHALP_DEVICE: 'cuda:1',
        POSEPIPE_PHALP_BATCH: '8',
        POSEPIPE_BUILTIN_MIN_HITS: '3',
        POSEPIPE_PHALP_EMPTY: '',
      }),
    );
    expect(s).toMatchObject({ backend: 'phalp', backendSettings: { POSEPIPE_PHALP_LOW_MEMORY: '1', POSEPIPE_PHALP_PRECISION: 'fp32' }, chunkSeconds: 10, overlapFrames: 16, extras: 'all', outputFormat: 'json' });
    expect(Object.keys(s.backendSettings)).toEqual(['POSEPIPE_PHALP_LOW_MEMORY', 'POSEPIPE_PHALP_PRECISION']);
    const fixture = workSettings(config({ POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_FAIL_WHILE: 'x', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '1' }));
    expect(fixture.backendSettings).toEqual({ POSEPIPE_TEST_FIXTURE_PEOPLE: '2' });
    expect(describeSettings(fixture)).toMatch(/^test-fixture \(posepipe \d+\.\d+\.\d+\) · chunks 10 s, overlap 16 frames · extras all · json · POSEPIPE_TEST_FIXTURE_PEOPLE=2$/);
  });

  it('give one key for the same settings however they were written, and another when anything that shapes the output changes', () => {
    expect(canonicalJson({ b: [2, { y: 1, x: null }], a: 'é', u: undefined })).toBe('{"a":"é","b":[2,{"x":null,"y":1}]}');
    const base = settingsRecord(workSettings(config({})));
    expect(settingsRecord(workSettings(config({ POSEPIPE_READY_SECONDS: '9', POSEPIPE_MAX_ATTEMPTS: '7' }))).key).toBe(base.key);
    const keys = [
      config({ POSEPIPE_TRACKER: 'keypoints' }),
      config({ POSEPIPE_BUILTIN_MIN_HITS: '2' }),
      config({}, { chunkSeconds: '5' }),
      config({ POSEPIPE_OVERLAP_FRAMES: '3' }),
      config({ POSEPIPE_EXTRAS: 'none' }),
      config({ POSEPIPE_OUTPUT_FORMAT: 'jsonl' }),
    ].map((c) => settingsRecord(workSettings(c)).key);
    expect(new Set([base.key, ...keys]).size).toBe(keys.length + 1);
    expect(base.key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(base.json)).toEqual(workSettings(config({})));
  });
});
