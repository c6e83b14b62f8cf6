/**
 * Making one export of a finished job's output: the checks every caller needs (a known format, one
 * its backend gives, tracks the output has), the file's name, and its text as pieces, to write into
 * a file atomically (the CLI, the job's own exports) or to stream to a browser.
 */
import { join } from 'node:path';
import { writeStreamAtomic } from '../atomic-file.ts';
import type { WorkSettings } from '../work-settings.ts';
import { ExportError } from './export-error.ts';
import { type ExportFormat, exportFormat, type ExportTools, FORMAT_NAMES, type OneFileFormat, outputFacts, type PerTrackFormat } from './formats.ts';
import { openOutput, type OutputFrame, type OutputHeader } from './read-output.ts';

/** An export ready to be written: its format, the output's header and the file's text as pieces. */
export interface PreparedExport {
  format: OneFileFormat;
  header: OutputHeader;
  pieces: AsyncIterable<string>;
  /** Close the output without writing the export (reading the pieces to the end closes it too). */
  close(): Promise<void>;
}

/** The format of that name, or an ExportError listing the formats. */
export function formatNamed(name: string): ExportFormat {
  const format = exportFormat(name);
  if (!format) throw new ExportError(`there is no export format ${JSON.stringify(name)}: give one of ${FORMAT_NAMES}`);
  return format;
}

/**
 * The file name of an export beside its output: `clip.json` → `clip.mot.txt`, and with only some
 * tracks `clip.tracks-2-5.mot.txt` (so it never replaces the export of every track).
 */
export function exportFileName(outputName: string, format: ExportFormat, tracks?: readonly number[]): string {
  const stem = outputName.replace(/\.jsonl?$/, '');
  const some = tracks?.length ? `.tracks-${[...new Set(tracks)].sort((a, b) => a - b).join('-')}` : '';
  return `${stem}${some}.${format.name}.${format.extension}`;
}

/** The file name of one track's export (a per-track format): `clip.json` → `clip.track-3.smpl.npz`. */
export function trackFileName(outputName: string, format: ExportFormat, track: number): string {
  return `${outputName.replace(/\.jsonl?$/, '')}.track-${track}.${format.name}.${format.extension}`;
}

/**
 * Open `outputFile` and check that it can give `formatName` (the job's settings say what its
 * backend gave; without them, the output's header) for `tracks` (every track when empty). Throws
 * ExportError naming the format, the backend or the track.
 */
export async function prepareExport(outputFile: string, settings: WorkSettings | null, formatName: string, tracks: readonly number[] = []): Promise<PreparedExport> {
  const format = formatNamed(formatName);
  if (format.layout !== 'one file') throw new TypeError(`prepareExport: ${format.name} is written one file per track (writeExportFiles)`);
  const reader = await openChecked(outputFile, settings, format, tracks);
  // The first pass reads the frames of the file already open; a format that reads twice opens it again.
  let first: AsyncIterable<OutputFrame> | undefined = reader.frames;
  const frames = (): AsyncIterable<OutputFrame> => {
    const pass = first;
    first = undefined;
    if (pass) return pass;
    return (async function* () {
      yield* (await openOutput(outputFile)).frames;
    })();
  };
  const pieces = (async function* () {
    try {
      yield* format.pieces(reader.header, frames, tracks.length ? new Set(tracks) : undefined);
    } finally {
      await reader.close();
    }
  })();
  return { format, header: reader.header, pieces, close: reader.close };
}

/** The output opened, after the checks every export needs: the format given by its backend, the tracks in it. */
async function openChecked(outputFile: string, settings: WorkSettings | null, format: ExportFormat, tracks: readonly number[]): Promise<Awaited<ReturnType<typeof openOutput>>> {
  const reader = await openOutput(outputFile);
  try {
    const refusal = format.refuse(outputFacts(settings, reader.header));
    if (refusal) throw new ExportError(refusal);
    const known = new Set(reader.header.tracks.map((t) => t.id));
    const unknown = tracks.filter((t) => !known.has(t));
    if (unknown.length) throw new ExportError(`${outputFile} has no track ${unknown.join(', ')} (its tracks: ${[...known].join(', ') || 'none'})`);
  } catch (error) {
    await reader.close();
    throw error;
  }
  return reader;
}

/**
 * Write a per-track format's files of `tracks` (every track when empty) into `outDir`, each
 * atomically, reading the output once a track; returns the files.
 */
export async function writeTrackFiles(outputFile: string, outputName: string, settings: WorkSettings | null, format: PerTrackFormat, tracks: readonly number[], outDir: string, tools: ExportTools): Promise<string[]> {
  const reader = await openChecked(outputFile, settings, format, tracks);
  const header = reader.header;
  await reader.close();
  // Each track reads the output once more, from the start.
  const frames = (): AsyncIterable<OutputFrame> =>
    (async function* () {
      yield* (await openOutput(outputFile)).frames;
    })();
  const files: string[] = [];
  for (const track of tracks.length ? [...new Set(tracks)] : header.tracks.map((t) => t.id)) {
    const file = join(outDir, trackFileName(outputName, format, track));
    await format.writeTrack(header, frames, track, file, tools);
    files.push(file);
  }
  return files;
}

/** Write one export of `outputFile` into `outDir` atomically: one file, or one a track; returns the files. */
export async function writeExportFiles(outputFile: string, outputName: string, settings: WorkSettings | null, formatName: string, tracks: readonly number[], outDir: string, tools: ExportTools): Promise<string[]> {
  const format = formatNamed(formatName);
  if (format.layout === 'per track') return writeTrackFiles(outputFile, outputName, settings, format, tracks, outDir, tools);
  return [await writeExport(outputFile, outputName, settings, formatName, tracks, outDir)];
}

/** Write one export of a one-file format into `outDir` atomically; returns the file's path. */
export async function writeExport(outputFile: string, outputName: string, settings: WorkSettings | null, formatName: string, tracks: readonly number[], outDir: string): Promise<string> {
  const prepared = await prepareExport(outputFile, settings, formatName, tracks);
  const file = join(outDir, exportFileName(outputName, prepared.format, tracks));
  await writeStreamAtomic(file, prepared.pieces);
  return file;
}

/**
 * The exports the `exports` setting names, written beside a job's output as it finishes: each
 * atomically; a format the job's backend does not give is skipped with a line in the log (the
 * setting applies to every job, whatever its backend). Returns the files written.
 */
export async function writeJobExports(outputFile: string, outputName: string, settings: WorkSettings | null, names: readonly string[], outDir: string, log: (line: string) => void, tools: ExportTools): Promise<string[]> {
  const written: string[] = [];
  for (const name of names) {
    try {
      written.push(...(await writeExportFiles(outputFile, outputName, settings, name, [], outDir, tools)));
    } catch (error) {
      if (!(error instanceof ExportError)) throw error;
      log(`no ${name} export of ${outputName}: ${error.message}`);
    }
  }
  return written;
}
