/**
 * Receiving a result upload into a file while its sha256 is computed, bounded as it streams: past
 * its size cap it stops at once (nothing more is read or written), and an upload that moves no byte
 * for the idle time is cut off. A slow upload that keeps moving is never cut: there is no total
 * time limit. The caller removes the file whatever happens.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Result bytes allowed per frame of an attempt (overlap included), beyond RESULT_BASE_BYTES. The
 * test fixture standing in for phalp (every extra) writes 1,848 bytes per person and frame, so a
 * MiB a frame takes about 560 people in every frame.
 */
export const RESULT_BYTES_PER_FRAME = 1024 ** 2;
/** Result bytes allowed whatever the frames: the header fields and the pickle's own structure. */
export const RESULT_BASE_BYTES = 1024 ** 2;

/** The largest result an attempt of `frames` frames may upload: its frames' budget, never above maxResultMb. */
export function resultCap(frames: number, maxResultMb: number): number {
  return Math.min(RESULT_BASE_BYTES + frames * RESULT_BYTES_PER_FRAME, maxResultMb * 1024 ** 2);
}

/** The upload went past its size cap. */
export class UploadTooLarge extends Error {
  readonly cap: number;
  constructor(cap: number) {
    super(`more than ${cap} bytes`);
    this.name = 'UploadTooLarge';
    this.cap = cap;
  }
}

/** The upload moved no byte for its idle time. */
export class UploadIdle extends Error {
  readonly seconds: number;
  constructor(seconds: number) {
    super(`no byte came for ${seconds} s`);
    this.name = 'UploadIdle';
    this.seconds = seconds;
  }
}

/** How an upload is bounded, and who hears that bytes arrive. */
export interface UploadBounds {
  capBytes: number;
  idleSeconds: number;
  /** Called with the bytes so far each time some arrive (e.g. to renew a lease). */
  onBytes?: (bytes: number) => void;
}

/** Stream `body` into `file`; its size and sha256, or UploadTooLarge / UploadIdle / the stream's own error. */
export async function receiveUpload(body: Readable, file: string, bounds: UploadBounds): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const idle = setTimeout(() => body.destroy(new UploadIdle(bounds.idleSeconds)), bounds.idleSeconds * 1000);
  try {
    await pipeline(
      body,
      new Transform({
        transform(piece: Buffer, _encoding, done) {
          idle.refresh();
          bytes += piece.length;
          if (bytes > bounds.capBytes) return done(new UploadTooLarge(bounds.capBytes));
          hash.update(piece);
          bounds.onBytes?.(bytes);
          done(null, piece);
        },
      }),
      createWriteStream(file),
    );
  } finally {
    clearTimeout(idle);
  }
  return { bytes, sha256: hash.digest('hex') };
}
