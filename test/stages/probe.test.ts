import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { probe } from '../../src/stages/probe.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('probe stage', () => {
  it('returns the facts of the staged file', async () => {
    ws = makeWorkspace('probe-stage');
    const sourcePath = join(ws.home, 'source.mov');
    copyFileSync(fixture('rotated.mp4'), sourcePath);
    expect(await probe({ sourcePath, displayName: 'holiday.mov' })).toMatchObject({ width: 240, height: 320, rotation: 90, fps: 25 });
  });

  it('names the user file, never the internal path, in its errors', async () => {
    ws = makeWorkspace('probe-stage');
    const sourcePath = join(ws.home, 'source.mp4');
    copyFileSync(fixture('text.mp4'), sourcePath);
    const displayName = 'my "notes" <b>.mp4';
    const error = await probe({ sourcePath, displayName }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).kind).toBe('input');
    expect((error as Error).message).toBe(`Cannot probe "${displayName}": not a video file (Invalid data found when processing input)`);
  });

  it('a missing staged file is an internal error, not bad input', async () => {
    ws = makeWorkspace('probe-stage');
    const error = await probe({ sourcePath: join(ws.home, 'gone.mp4'), displayName: 'clip.mp4' }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(InputError);
    expect((error as { kind?: string }).kind).toBe('internal');
  });
});
