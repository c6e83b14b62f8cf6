import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectorCommand } from '../../src/detector/command.ts';
import { FAILURE_KINDS, TrackerError } from '../../src/errors.ts';
import { DEFAULT_WORKER_SCRIPT, formatRequest, parseEvent, WORKER_ERROR_KINDS, type WorkerEvent } from '../../src/tracker/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace } from '../helpers/workspace.ts';

const PYTHON = '/usr/bin/python3';

/** Run the real worker over a fixed list of stdin lines; returns its stdout lines and exit status. */
function runWorker(backend: string, lines: string[], env: Record<string, string> = {}) {
  const r = spawnSync(PYTHON, [DEFAULT_WORKER_SCRIPT, '--backend', backend], {
    input: lines.join(''),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env },
  });
  return { status: r.status, stdout: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
}

describe('tracker protocol', () => {
  it('parses every event the real worker writes, including errors for bad requests', () => {
    const ws = makeWorkspace('protocol');
    const output = join(ws.root, 'out.pkl');
    const missing = join(ws.root, 'no such "file".mp4');
    const { status, stdout } = runWorker('test-fixture', [
      'this is not json\n',
      '{"type":"dance","id":"x1"}\n',
      formatRequest({ type: 'track', id: 'm', inputs: [{ path: missing, start: 0 }], firstFrame: 0, frameCount: 150, output }),
      formatRequest({ type: 'track', id: 'ok', inputs: [{ path: fixture('small.mp4'), start: 0 }], firstFrame: 0, frameCount: 150, output }),
      formatRequest({ type: 'shutdown' }),
    ]);
    expect(status).toBe(0);
    const events: WorkerEvent[] = stdout.map(parseEvent);
    expect(events[0]).toMatchObject({ type: 'ready', backend: 'test-fixture', device: 'cpu' });
    expect(events[1]).toMatchObject({ type: 'error', kind: 'internal' });
    expect((events[1] as { message: string }).message).toContain('this is not json');
    expect(events[2]).toMatchObject({ type: 'error', id: 'x1', kind: 'internal' });
    expect((events[2] as { message: string }).message).toContain('dance');
    const inputError = events.find((e) => e.type === 'error' && e.id === 'm');
    expect(inputError).toMatchObject({ kind: 'input' });
    expect((inputError as { message: string }).message).toContain(JSON.stringify(missing));
    const progress = events.filter((e) => e.type === 'progress' && e.id === 'ok');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toEqual({ type: 'progress', id: 'ok', frame: 150, frames: 150 });
    expect(events.at(-1)).toMatchObject({ type: 'done', id: 'ok', output, frames: 150, detections: 150 });
    ws.cleanup();
  });

  it('rejects bad lines with an error quoting the line', () => {
    const bad = [
      'not json at all',
      '[1,2,3]',
      '{"type":"hello"}',
      '{"type":"progress","id":"a","frame":1}',
      '{"type":"progress","id":"a","frame":-1,"frames":3}',
      '{"type":"progress","id":"a","frame":1.5,"frames":3}',
      '{"type":"done","id":"a","output":"/x","frames":1,"detections":"2","seconds":0.1}',
      '{"type":"error","kind":"meltdown","message":"m"}',
      '{"type":"ready","backend":"b","version":"v","device":"cpu","pid":1,"loadSeconds":1,"extra":true}',
    ];
    for (const line of bad) {
      let caught: unknown;
      try {
        parseEvent(line);
      } catch (error) {
        caught = error;
      }
      expect(caught, line).toBeInstanceOf(TrackerError);
      expect((caught as TrackerError).kind).toBe('internal');
      expect((caught as TrackerError).message).toContain(JSON.stringify(line));
    }
  });

  it('the worker refuses a bad or unknown input field, quoting the request', () => {
    const ws = makeWorkspace('protocol-count');
    const small = fixture('small.mp4');
    const track = (id: string, input: Record<string, unknown>) =>
      `${JSON.stringify({ type: 'track', id, inputs: [input], firstFrame: 0, frameCount: 5, output: join(ws.root, `${id}.pkl`) })}\n`;
    const { status, stdout } = runWorker('test-fixture', [
      track('neg', { path: small, start: 0, count: -1 }),
      track('str', { path: small, start: 0, count: '5' }),
      track('bool', { path: small, start: 0, count: true }),
      track('typo', { path: small, start: 0, cuont: 5 }),
      track('ok', { path: small, start: 3, count: 5 }),
    ]);
    expect(status).toBe(0);
    const events = stdout.map(parseEvent);
    for (const id of ['neg', 'str', 'bool', 'typo']) {
      const error = events.find((e) => e.type === 'error' && e.id === id);
      expect(error, id).toMatchObject({ kind: 'internal' });
      expect((error as { message: string }).message, id).toContain(id === 'typo' ? 'cuont' : "'count'");
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', id: 'ok', frames: 5 });
    ws.cleanup();
  });

  it('formatRequest refuses a request the worker would refuse, naming the field', () => {
    const base = { type: 'track' as const, id: 'r', firstFrame: 0, frameCount: 20, output: '/tmp/r.pkl' };
    const input = (extra: Record<string, unknown>) => [{ path: '/tmp/c.mp4', start: 10, ...extra }] as never;
    expect(formatRequest({ ...base, inputs: input({ count: 20 }) })).toBe(`${JSON.stringify({ ...base, inputs: input({ count: 20 }) })}\n`);
    expect(() => formatRequest({ ...base, inputs: input({ count: -1 }) })).toThrow(/inputs\[0\]\.count/);
    expect(() => formatRequest({ ...base, inputs: input({ count: 2.5 }) })).toThrow(/inputs\[0\]\.count/);
    expect(() => formatRequest({ ...base, inputs: input({ count: 19 }) })).toThrow(/frameCount.*19/);
    expect(() => formatRequest({ ...base, inputs: input({ cuont: 20 }) })).toThrow(/inputs\[0\]\.cuont/);
    expect(() => formatRequest({ ...base, inputs: [{ path: 'relative.mp4', start: 0 }] })).toThrow(/inputs\[0\]\.path/);
    expect(() => formatRequest({ ...base, inputs: [] })).toThrow(TypeError);
  });

  it("accepts a GPU backend's optional ready facts, and only those, typed", () => {
    const ready = '{"type":"ready","backend":"keypoints","version":"v","device":"cuda:0","pid":1,"loadSeconds":2.5';
    expect(parseEvent(`${ready},"precision":"bf16","batch":8,"memoryTotalMb":81559,"memoryFreeMb":80000}`)).toMatchObject({ precision: 'bf16', batch: 8, memoryTotalMb: 81559 });
    expect(() => parseEvent(`${ready},"batch":-1}`)).toThrow(/batch/);
    expect(() => parseEvent(`${ready},"precision":16}`)).toThrow(/precision/);
  });

  it('spells the error kinds as the Python worker does, each one a failure kind', () => {
    const r = spawnSync(PYTHON, ['-c', 'import json; from posepipe.protocol import ERROR_KINDS; print(json.dumps(ERROR_KINDS))'], { cwd: 'python', encoding: 'utf8' });
    expect([...(JSON.parse(r.stdout) as string[])].sort()).toEqual([...WORKER_ERROR_KINDS].sort());
    for (const kind of WORKER_ERROR_KINDS) expect(FAILURE_KINDS).toContain(kind);
  });

  it('accepts an error without id, as sent before ready', () => {
    expect(parseEvent('{"type":"error","kind":"environment","message":"cannot import cv2"}')).toEqual({
      type: 'error',
      kind: 'environment',
      message: 'cannot import cv2',
    });
  });

  it('--check reports every import as one JSON object and exits 0 when all is well', () => {
    // builtin's load starts its detector helper (CenterNet in Node), whose command posepipe hands over.
    const env = { ...process.env, POSEPIPE_DETECTOR_COMMAND: JSON.stringify(detectorCommand()) };
    const r = spawnSync(PYTHON, [DEFAULT_WORKER_SCRIPT, '--backend', 'builtin', '--check'], { encoding: 'utf8', timeout: 60_000, env });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['python', 'numpy', 'opencv', 'opencv-hog', 'load builtin']));
  });

  it('--check exits 1 naming the module when an import fails', () => {
    const r = spawnSync(PYTHON, [DEFAULT_WORKER_SCRIPT, '--backend', 'test-fixture', '--check'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, POSEPIPE_TEST_FIXTURE_IMPORT_ERROR: 'torch' },
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => !c.ok)?.detail).toContain('cannot import torch');
  });
});
