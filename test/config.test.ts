import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, translateWindowsPath } from '../src/config.ts';
import { DEFAULT_MIN_FREE_MB } from '../src/disk.ts';
import { DEFAULT_MAX_CHUNKS } from '../src/stages/chunk.ts';
import { DEFAULT_INPUT_LIMITS } from '../src/stages/probe.ts';
import { workspacesPerTest } from './helpers/workspace.ts';

const env = { HOME: '/home/u' };
const workspace = workspacesPerTest();

describe('configuration', () => {
  it('resolves defaults → file → environment → flags, in that order, and records each source', () => {
    const dir = workspace('config').root;
    writeFileSync(join(dir, 'posepipe.config.json'), JSON.stringify({ chunkSeconds: 5, overlapFrames: 8, port: 9000, inbox: 'in' }));
    const config = loadConfig({ cwd: dir, env: { ...env, POSEPIPE_OVERLAP_FRAMES: '4', POSEPIPE_PORT: '9100' }, flags: { port: '9200' }, wsl: false });
    expect(config.chunkSeconds).toBe(5);
    expect(config.overlapFrames).toBe(4);
    expect(config.port).toBe(9200);
    expect(config.inbox).toBe(join(dir, 'in'));
    expect(config.home).toBe('/home/u/.local/share/posepipe');
    expect(config.tracker).toBe('builtin');
    expect(config.sources).toMatchObject({ chunkSeconds: join(dir, 'posepipe.config.json'), overlapFrames: 'POSEPIPE_OVERLAP_FRAMES', port: '--port', tracker: 'default' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the key and where a bad value came from', () => {
    expect(() => loadConfig({ env: { ...env, POSEPIPE_CHUNK_SECONDS: 'ten' }, wsl: false })).toThrow('Invalid chunkSeconds (from POSEPIPE_CHUNK_SECONDS): "ten" is not a number');
    expect(() => loadConfig({ env, flags: { overlapFrames: '2.5' }, wsl: false })).toThrow('Invalid overlapFrames (from --overlap-frames): "2.5" is not a whole number');
    expect(() => loadConfig({ env: { ...env, POSEPIPE_TRACKER: 'magic' }, wsl: false })).toThrow(/Invalid tracker \(from POSEPIPE_TRACKER\): "magic" is not one of builtin/);
    expect(() => loadConfig({ env: { ...env, POSEPIPE_PORT: '70000' }, wsl: false })).toThrow(/above the maximum 65535/);
    // extras: all, none, or names (track, bbox and score are always written), normalised.
    expect(loadConfig({ env, wsl: false }).extras).toBe('all');
    expect(loadConfig({ env, flags: { extras: ' keypoints2d, joints3d,keypoints2d' }, wsl: false }).extras).toBe('keypoints2d,joints3d');
    expect(loadConfig({ env: { ...env, POSEPIPE_EXTRAS: 'none' }, wsl: false }).extras).toBe('none');
    for (const bad of ['keypoints2d,,joints3d', 'bbox', 'Joints3D', 'all,joints3d']) {
      expect(() => loadConfig({ env: { ...env, POSEPIPE_EXTRAS: bad }, wsl: false }), bad).toThrow(/^Invalid extras \(from POSEPIPE_EXTRAS\): .* is not all, none, or extra names such as keypoints2d,joints3d/);
    }
    const dir = workspace('config').root;
    writeFileSync(join(dir, 'posepipe.config.json'), JSON.stringify({ chunkSecond: 5 }));
    expect(() => loadConfig({ cwd: dir, env, wsl: false })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: dir, env, wsl: false })).toThrow(/Unknown key "chunkSecond"/);
    writeFileSync(join(dir, 'posepipe.config.json'), '{ not json');
    expect(() => loadConfig({ cwd: dir, env, wsl: false })).toThrow(/Cannot read config file .*posepipe\.config\.json/);
  });

  it('translates Windows paths under WSL and refuses them elsewhere', () => {
    expect(translateWindowsPath('C:\\videos\\in')).toBe('/mnt/c/videos/in');
    expect(translateWindowsPath('d:/Users/Ann Lee/Videos/')).toBe('/mnt/d/Users/Ann Lee/Videos');
    expect(translateWindowsPath('/already/linux')).toBe('/already/linux');
    expect(loadConfig({ env: { ...env, POSEPIPE_INBOX: 'C:\\videos\\in' }, wsl: true }).inbox).toBe('/mnt/c/videos/in');
    expect(() => loadConfig({ env: { ...env, POSEPIPE_INBOX: 'C:\\videos\\in' }, wsl: false })).toThrow(/Invalid inbox \(from POSEPIPE_INBOX\).*Windows path, but this is not WSL/);
  });

  it('input limits and free space: the stages\' own defaults are the configuration\'s, and each is settable', () => {
    const config = loadConfig({ env, wsl: false });
    expect({ maxWidth: config.maxWidth, maxHeight: config.maxHeight, maxDurationSeconds: config.maxDurationSeconds }).toEqual(DEFAULT_INPUT_LIMITS);
    expect(config.maxChunks).toBe(DEFAULT_MAX_CHUNKS);
    expect(config.minFreeMb).toBe(DEFAULT_MIN_FREE_MB);
    const set = loadConfig({
      env: { ...env, POSEPIPE_MAX_WIDTH: '1920', POSEPIPE_MAX_DURATION_SECONDS: '90.5', POSEPIPE_MIN_FREE_MB: '0' },
      flags: { maxHeight: '1080', maxChunks: '10' },
      wsl: false,
    });
    expect(set).toMatchObject({ maxWidth: 1920, maxHeight: 1080, maxDurationSeconds: 90.5, maxChunks: 10, minFreeMb: 0 });
    expect(() => loadConfig({ env: { ...env, POSEPIPE_MAX_WIDTH: '0' }, wsl: false })).toThrow('Invalid maxWidth (from POSEPIPE_MAX_WIDTH): 0 is below the minimum 1');
    expect(() => loadConfig({ env, flags: { minFreeMb: '-1' }, wsl: false })).toThrow('Invalid minFreeMb (from --min-free-mb): -1 is below the minimum 0');
  });
});
