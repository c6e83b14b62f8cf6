/**
 * The number of samples (packets) of the video track of an MP4 file posepipe wrote itself (a chunk
 * or a preview), read from its index: the `stsz` (or `stz2`) box of the `trak` whose handler is
 * `vide`. No process to start and nothing to decode: an ffprobe costs ~0.2 s of CPU to start,
 * once per chunk. Anything else (no index found, a fragmented file, a damaged box) is answered
 * by ffprobe's packet count, so the result is always the demuxer's.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { countPackets } from './count-frames.ts';

/** Largest `moov` box read: its sample tables hold ~12 bytes a frame, so this covers days of video. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;

/** A box: its type and where its payload lies. */
interface Box {
  type: string;
  start: number;
  end: number;
}

/** The boxes directly inside bytes[start, end), or undefined where a size does not fit. */
function childBoxes(bytes: Buffer, start: number, end: number): Box[] | undefined {
  const boxes: Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = bytes.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return undefined;
      const large = bytes.readBigUInt64BE(at + 8);
      if (large > BigInt(end - at)) return undefined;
      size = Number(large);
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return undefined;
    boxes.push({ type: bytes.toString('latin1', at + 4, at + 8), start: at + header, end: at + size });
    at += size;
  }
  return at === end ? boxes : undefined;
}

function child(bytes: Buffer, box: Box, type: string): Box | undefined {
  return childBoxes(bytes, box.start, box.end)?.find((b) => b.type === type);
}

/** The sample count of the first video track in a `moov` payload, or undefined. */
function videoSamples(moov: Buffer): number | undefined {
  const boxes = childBoxes(moov, 0, moov.length);
  // A fragmented file (mvex: movie extends) keeps its samples in moof boxes, not in this index.
  if (!boxes || boxes.some((b) => b.type === 'mvex')) return undefined;
  for (const trak of boxes.filter((b) => b.type === 'trak')) {
    const mdia = child(moov, trak, 'mdia');
    const hdlr = mdia && child(moov, mdia, 'hdlr');
    // hdlr: version and flags (4), pre_defined (4), handler_type (4).
    if (!mdia || !hdlr || hdlr.end - hdlr.start < 12 || moov.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide') continue;
    const minf = child(moov, mdia, 'minf');
    const stbl = minf && child(moov, minf, 'stbl');
    if (!stbl) return undefined;
    // stsz: version and flags (4), sample_size (4), sample_count (4); stz2: version and flags (4), reserved and field_size (4), sample_count (4).
    const sizes = child(moov, stbl, 'stsz') ?? child(moov, stbl, 'stz2');
    if (!sizes || sizes.end - sizes.start < 12) return undefined;
    return moov.readUInt32BE(sizes.start + 8);
  }
  return undefined;
}

/** The `moov` payload of the file, read by walking its top-level boxes, or undefined. */
async function readMoov(handle: FileHandle): Promise<Buffer | undefined> {
  const fileSize = (await handle.stat()).size;
  const header = Buffer.alloc(16);
  let at = 0;
  while (at + 8 <= fileSize) {
    const { bytesRead } = await handle.read(header, 0, 16, at);
    if (bytesRead < 8) return undefined;
    let size = header.readUInt32BE(0);
    let headerBytes = 8;
    if (size === 1) {
      if (bytesRead < 16) return undefined;
      const large = header.readBigUInt64BE(8);
      if (large > BigInt(fileSize - at)) return undefined;
      size = Number(large);
      headerBytes = 16;
    } else if (size === 0) size = fileSize - at;
    if (size < headerBytes || at + size > fileSize) return undefined;
    const type = header.toString('latin1', 4, 8);
    // A fragmented file's samples are spread over its moof boxes.
    if (type === 'moof') return undefined;
    if (type === 'moov') {
      const length = size - headerBytes;
      if (length > MAX_MOOV_BYTES) return undefined;
      const moov = Buffer.alloc(length);
      const read = await handle.read(moov, 0, length, at + headerBytes);
      return read.bytesRead === length ? moov : undefined;
    }
    at += size;
  }
  return undefined;
}

/** The MP4 index's own count, or undefined when it cannot be read from the index alone. */
export async function mp4SampleCount(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r');
  try {
    const moov = await readMoov(handle);
    return moov && videoSamples(moov);
  } finally {
    await handle.close();
  }
}

/** Packets of the first video stream of an MP4 file posepipe wrote: from its index when it has one, else from ffprobe. */
export async function countOwnMp4Packets(file: string): Promise<number> {
  return (await mp4SampleCount(file)) ?? countPackets(file);
}
