/**
 * The models manifest: what `posepipe_worker.py --models --backend NAME` prints as one JSON line.
 * Python knows where each backend looks for its files; TypeScript only fetches them to those exact
 * paths. Parsed strictly: an unknown key is refused, because a misspelt `sha256prefix` would
 * otherwise switch a check off without a word.
 */
import { isAbsolute } from 'node:path';

/** `dest` is a .tar.gz archive extracted into `into`; the entry is in place when every `provides` exists. */
export interface ModelUnpack {
  readonly into: string;
  readonly provides: readonly string[];
}

/** One downloadable file and the checks it must pass. */
export interface ModelFile {
  /** For messages only; never used to build a path. */
  readonly name: string;
  readonly url: string;
  /** Absolute path the file must end at. */
  readonly dest: string;
  /** Bytes, when known. */
  readonly size?: number;
  /** Full lower-case hex SHA-256, when known. */
  readonly sha256?: string;
  /** The leading hex digits of the SHA-256 (torch hub's `name-<prefix>.pth` style), when known. */
  readonly sha256Prefix?: string;
  /** The leading hex digits of the MD5 (detectron2's `model_final_<prefix>.pkl` style), when known. */
  readonly md5Prefix?: string;
  /** Further places the same file is published, tried in order when `url` fails for good. */
  readonly alternates?: readonly string[];
  readonly unpack?: ModelUnpack;
}

/** A file posepipe may not download (a licence stands in the way): the user puts it at `dest`. */
export interface ManualFile {
  readonly name: string;
  readonly dest: string;
  /** What the user has to do, in words. */
  readonly how: string;
}

/** Everything a tracker backend needs on disk. */
export interface ModelManifest {
  readonly backend: string;
  readonly files: readonly ModelFile[];
  readonly manual: readonly ManualFile[];
}

/** The worker's manifest could not be had or read: the command exits 2 with this message. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

type Fields = Record<string, unknown>;

function fail(where: string, what: string, value: unknown): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new ManifestError(`models manifest: ${where} ${what}, got ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`);
}

function object(value: unknown, where: string, keys: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'must be an object', value);
  const extra = Object.keys(value).find((k) => !keys.includes(k));
  if (extra !== undefined) fail(`${where}.${extra}`, `is not a known key (known: ${keys.join(', ')})`, (value as Fields)[extra]);
  return value as Fields;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') fail(where, 'must be a non-empty string', value);
  return value;
}

function absolutePath(value: unknown, where: string): string {
  const path = text(value, where);
  if (!isAbsolute(path) || path.includes('\0')) fail(where, 'must be an absolute path', value);
  return path;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, 'must be an array', value);
  return value;
}

function hex(value: unknown, where: string, pattern: RegExp): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) fail(where, `must be hex digits (${pattern.source})`, value);
  return value.toLowerCase();
}

function httpUrl(value: unknown, where: string): string {
  const url = text(value, where);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) fail(where, 'must be an http:// or https:// URL', value);
  return url;
}

function alternates(value: unknown, where: string, url: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const urls = list(value, where).map((u, i) => httpUrl(u, `${where}[${i}]`));
  // A URL listed twice would only be tried twice, and fail twice, for the same reason.
  for (const [i, u] of urls.entries()) if (u === url || urls.indexOf(u) < i) fail(`${where}[${i}]`, 'repeats an earlier URL of this file', u);
  return Object.freeze(urls);
}

function unpack(value: unknown, where: string): ModelUnpack | undefined {
  if (value === undefined) return undefined;
  const fields = object(value, where, ['into', 'provides']);
  const provides = list(fields.provides, `${where}.provides`).map((p, i) => absolutePath(p, `${where}.provides[${i}]`));
  if (provides.length === 0) fail(`${where}.provides`, 'must name at least one file', fields.provides);
  return Object.freeze({ into: absolutePath(fields.into, `${where}.into`), provides: Object.freeze(provides) });
}

function modelFile(value: unknown, where: string): ModelFile {
  const fields = object(value, where, ['name', 'url', 'alternates', 'dest', 'size', 'sha256', 'sha256Prefix', 'md5Prefix', 'unpack']);
  const size = fields.size;
  if (size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) fail(`${where}.size`, 'must be a whole number of bytes', size);
  const url = httpUrl(fields.url, `${where}.url`);
  const entry: ModelFile = {
    name: text(fields.name, `${where}.name`),
    url,
    alternates: alternates(fields.alternates, `${where}.alternates`, url),
    dest: absolutePath(fields.dest, `${where}.dest`),
    size: size as number | undefined,
    sha256: hex(fields.sha256, `${where}.sha256`, /^[0-9a-fA-F]{64}$/),
    sha256Prefix: hex(fields.sha256Prefix, `${where}.sha256Prefix`, /^[0-9a-fA-F]{1,64}$/),
    md5Prefix: hex(fields.md5Prefix, `${where}.md5Prefix`, /^[0-9a-fA-F]{1,32}$/),
    unpack: unpack(fields.unpack, `${where}.unpack`),
  };
  // Absent checks stay absent (not `undefined` keys), so a manifest prints as it came.
  for (const key of Object.keys(entry) as (keyof ModelFile)[]) if (entry[key] === undefined) delete (entry as Partial<Record<keyof ModelFile, unknown>>)[key];
  return Object.freeze(entry);
}

function manualFile(value: unknown, where: string): ManualFile {
  const fields = object(value, where, ['name', 'dest', 'how']);
  return Object.freeze({ name: text(fields.name, `${where}.name`), dest: absolutePath(fields.dest, `${where}.dest`), how: text(fields.how, `${where}.how`) });
}

/** Check a decoded manifest field by field; the error names the first bad field and its value. */
export function validateManifest(value: unknown): ModelManifest {
  const fields = object(value, 'the manifest', ['backend', 'files', 'manual']);
  const files = list(fields.files, 'files').map((f, i) => modelFile(f, `files[${i}]`));
  const manual = list(fields.manual, 'manual').map((m, i) => manualFile(m, `manual[${i}]`));
  // Two entries on one path would share a `.part` file and overwrite each other.
  const seen = new Set<string>();
  for (const [i, f] of files.entries()) {
    if (seen.has(f.dest)) fail(`files[${i}].dest`, 'is the destination of an earlier entry too', f.dest);
    seen.add(f.dest);
  }
  return Object.freeze({ backend: text(fields.backend, 'backend'), files: Object.freeze(files), manual: Object.freeze(manual) });
}

/** Parse the worker's one JSON line into a checked, frozen manifest. */
export function parseManifest(line: string): ModelManifest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    fail('the worker\'s output', 'is not JSON', line);
  }
  return validateManifest(value);
}
