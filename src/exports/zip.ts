/**
 * A zip of files on disk, streamed: each file is read once for its CRC-32 and size, then again into
 * the stream, so memory stays flat whatever their size. Stored entries (no compression: .npz and
 * .bvh files), one fixed date (the same files give the same bytes). The API sends the per-track
 * exports this way.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { DOS_DATE } from './npz.ts';

/** One file to put in the zip under `name` (a plain name: no folders). */
export interface ZipFile {
  name: string;
  path: string;
}

async function crcOf(path: string): Promise<number> {
  let crc = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) crc = crc32(piece, crc);
  return crc;
}

/** The zip's bytes, piece by piece. */
export async function* zipStream(files: readonly ZipFile[]): AsyncGenerator<Buffer> {
  const entries: { name: Buffer; crc: number; size: number; offset: number }[] = [];
  let at = 0;
  for (const file of files) {
    if (!/^[^/\\\0]+$/.test(file.name)) throw new TypeError(`zip: bad entry name ${JSON.stringify(file.name)}`);
    const size = (await stat(file.path)).size;
    const crc = await crcOf(file.path);
    const name = Buffer.from(file.name, 'utf8');
    if (at + 30 + name.length + size > 0xffff_ffff) throw new RangeError('zip: over 4 GiB (zip64 is not written)');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // names in UTF-8
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    entries.push({ name, crc, size, offset: at });
    yield Buffer.concat([local, name]);
    let read = 0;
    for await (const piece of createReadStream(file.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      read += piece.length;
      yield piece;
    }
    if (read !== size) throw new Error(`zip: ${file.path} changed while it was sent (${size} bytes, then ${read})`);
    at += 30 + name.length + size;
  }
  const directory: Buffer[] = entries.map((e) => {
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0);
    head.writeUInt16LE(20, 4); // made by
    head.writeUInt16LE(20, 6); // needed
    head.writeUInt16LE(0x0800, 8);
    head.writeUInt16LE(DOS_DATE, 14);
    head.writeUInt32LE(e.crc, 16);
    head.writeUInt32LE(e.size, 20);
    head.writeUInt32LE(e.size, 24);
    head.writeUInt16LE(e.name.length, 28);
    head.writeUInt32LE(e.offset, 42);
    return Buffer.concat([head, e.name]);
  });
  const size = directory.reduce((n, d) => n + d.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(at, 16);
  yield Buffer.concat([...directory, end]);
}
