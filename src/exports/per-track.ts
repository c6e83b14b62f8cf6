/**
 * The formats of one file per track: `smpl` (src/exports/smpl.ts, an AMASS-style .npz) and `bvh`
 * (the same track's .npz turned into a BVH skeleton by python/posepipe/bvh.py, which reads the
 * user's SMPL model for the bones' lengths; run by the tracker venv's interpreter, argument array).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { repoPath } from '../repo-root.ts';
import { ExportError } from './export-error.ts';
import type { ExportTools, FramePass } from './pass.ts';
import type { OutputHeader } from './read-output.ts';
import { exportSmplTrack, type SmplExportFrame, type SmplExportHeader, SmplExportError } from './smpl.ts';

/** Write `track` as an AMASS-style .npz at `file`. */
export async function smplTrack(header: OutputHeader, frames: FramePass, track: number, file: string): Promise<{ gaps: number }> {
  try {
    const result = await exportSmplTrack(header as unknown as SmplExportHeader, frames() as AsyncIterable<SmplExportFrame>, track, file);
    return { gaps: result.gaps };
  } catch (error) {
    if (error instanceof SmplExportError) throw new ExportError(error.message);
    throw error;
  }
}

/** The most of the Python helper's stderr kept for an error message. */
const STDERR_LIMIT = 4000;

/** Write `track` as a BVH at `file`: its .npz first (beside it, then removed), then python/posepipe/bvh.py. */
export async function bvhTrack(header: OutputHeader, frames: FramePass, track: number, file: string, tools: ExportTools): Promise<{ gaps: number }> {
  const npz = `${file}.npz-${process.pid}`;
  try {
    await smplTrack(header, frames, track, npz);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(tools.python, ['-m', 'posepipe.bvh', npz, file], { cwd: repoPath('python'), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-STDERR_LIMIT)));
      child.on('error', (e) => reject(new ExportError(`cannot run ${tools.python} for the bvh export: ${e.message}`)));
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    if (code !== 0) throw new ExportError(`the bvh export of track ${track} failed: ${stderr.trim() || `python exited with ${code}`}`);
    const summary = JSON.parse(stdout) as { gaps: unknown[] };
    return { gaps: summary.gaps.length };
  } finally {
    rmSync(npz, { force: true });
  }
}
