/**
 * Public face of src/exports: the export formats (mot, csv, coco; smpl and bvh per track) made from a finished job's
 * output, read frame by frame.
 */
export { ExportError } from './export-error.ts';
export { exportFileName, formatNamed, type PreparedExport, prepareExport, trackFileName, writeExport, writeExportFiles, writeJobExports, writeTrackFiles } from './export-job.ts';
export { EXPORT_FORMATS, type ExportFormat, exportFormat, type ExportTools, FORMAT_NAMES, formatsGiven, outputFacts, type OutputFacts, settingsFacts } from './formats.ts';
export { zipStream } from './zip.ts';
export { type OutputFrame, type OutputHeader, type OutputPerson, OutputReadError, openOutput, outputForm } from './read-output.ts';
