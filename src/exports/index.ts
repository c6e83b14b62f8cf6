/**
 * Public face of src/exports: the export formats (mot, csv, coco) made from a finished job's
 * output, read frame by frame.
 */
export { ExportError } from './export-error.ts';
export { exportFileName, formatNamed, type PreparedExport, prepareExport, writeExport, writeJobExports } from './export-job.ts';
export { EXPORT_FORMATS, type ExportFormat, exportFormat, FORMAT_NAMES, formatsGiven, outputFacts, type OutputFacts, settingsFacts } from './formats.ts';
export { type OutputFrame, type OutputHeader, type OutputPerson, OutputReadError, openOutput, outputForm } from './read-output.ts';
