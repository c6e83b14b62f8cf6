/**
 * A zip of files on disk (and small pieces in memory), streamed: each entry is read once for its
 * CRC-32 and size, then again into the stream, so memory stays flat whatever their size. Stored
 * entries (no compression), one fixed date (the same bytes in give the same zip). The API sends the
 * per-track exports this way, and the smpl export's .npz is one.
 */
import { createReadStream } from 'node:fs';
import { crc32 } from 'node:zlib';
import { DOS_DATE } from './npz.ts';

/** One file to put in the zip under `name` (a plain name: no folders). */
export interface ZipFile {
  name: string;
  path: string;
}

/** One entry of the zip: its name and its bytes, given as pieces in memory and files on disk, in order. */
export interface ZipEntry {
  name: string;
  parts: readonly (Uint8Array | { path: string })[];
}

/** The bytes of an entry's parts, file parts read a MiB at a time. */
async function* partBytes(entry: ZipEntry): AsyncGenerator<Uint8Array> {
  for (const part of entry.parts) {
    if (part instanceof Uint8Array) yield part;
    else yield* createReadStream(part.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
  }
}

/** The zip's bytes of these files on disk, piece by piece. */
export function zipStream(files: readonly ZipFile[]): AsyncGenerator<Buffer> {
  return zipEntries(files.map((f) => ({ name: f.name, parts: [{ path: f.path }] })));
}

/** The zip's bytes of these entries, piece by piece: each entry read once for its CRC and size, then again into the stream. */
export async function* zipEntries(entries: readonly ZipEntry[]): AsyncGenerator<Buffer> {
  const written: { name: Buffer; crc: number; size: number; offset: number }[] = [];
  let at = 0;
  for (const entry of entries) {
    if (!/^[^/\\\0]+$/.test(entry.name)) throw new TypeError(`zip: bad entry name ${JSON.stringify(entry.name)}`);
    let crc = 0;
    let size = 0;
    for await (const piece of partBytes(entry)) {
      crc = crc32(piece, crc);
      size += piece.length;
    }
    const name = Buffer.from(entry.name, 'utf8');
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
    written.push({ name, crc, size, offset: at });
    yield Buffer.concat([local, name]);
    let read = 0;
    for await (const piece of partBytes(entry)) {
      read += piece.length;
      yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    }
    if (read !== size) throw new Error(`zip: ${entry.name} changed while it was written (${size} bytes, then ${read})`);
    at += 30 + name.length + size;
  }
  const directory: Buffer[] = written.map((e) => {
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
  end.writeUInt16LE(written.length, 8);
  end.writeUInt16LE(written.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(at, 16);
  yield Buffer.concat([...directory, end]);
}
