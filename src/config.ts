/**
 * loadConfig(): the one typed, validated, frozen configuration object.
 * Sources in rising priority: defaults → posepipe.config.json → POSEPIPE_* environment → flags.
 * This is the only module that reads process.env.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export { REPO_ROOT } from './repo-root.ts';
import { REPO_ROOT } from './repo-root.ts';

type Kind = 'path' | 'file' | 'int' | 'number' | 'enum' | 'string' | 'bool' | 'url' | 'workers' | 'redis' | 'secret' | 'extras' | 'exports';
interface Spec {
  env: string;
  flag: string;
  kind: Kind;
  doc: string;
  min?: number;
  max?: number;
  values?: readonly string[];
}

/** The export formats (src/exports has one of each name; a test checks they agree). */
export const EXPORT_FORMAT_NAMES = ['mot', 'csv', 'coco', 'smpl', 'bvh'] as const;

/** Every configuration key, once: its environment variable, flag, type and meaning. */
export const CONFIG_SPEC = {
  inbox: { env: 'POSEPIPE_INBOX', flag: '--inbox', kind: 'path', doc: 'folder watched for new videos' },
  outbox: { env: 'POSEPIPE_OUTBOX', flag: '--outbox', kind: 'path', doc: 'folder the JSON results are written to' },
  home: { env: 'POSEPIPE_HOME', flag: '--home', kind: 'path', doc: 'database, staging copies, chunks and logs (keep it on the Linux filesystem)' },
  chunkSeconds: { env: 'POSEPIPE_CHUNK_SECONDS', flag: '--chunk-seconds', kind: 'number', min: 0.1, max: 3600, doc: 'length of each chunk sent to the tracker' },
  overlapFrames: { env: 'POSEPIPE_OVERLAP_FRAMES', flag: '--overlap-frames', kind: 'int', min: 0, max: 10000, doc: 'frames of the previous chunk tracked again to join track ids' },
  tracker: { env: 'POSEPIPE_TRACKER', flag: '--tracker', kind: 'enum', values: ['builtin', 'keypoints', 'phalp', 'test-fixture'], doc: 'tracker backend (test-fixture: fault injection for posepipe\'s own tests)' },
  python: { env: 'POSEPIPE_PYTHON', flag: '--python', kind: 'path', doc: "the tracker venv's interpreter" },
  port: { env: 'POSEPIPE_PORT', flag: '--port', kind: 'int', min: 0, max: 65535, doc: 'status page port (0: any free port)' },
  host: { env: 'POSEPIPE_HOST', flag: '--host', kind: 'string', doc: 'status page address' },
  readySeconds: { env: 'POSEPIPE_READY_SECONDS', flag: '--ready-seconds', kind: 'number', min: 0.05, max: 3600, doc: 'a file is ready when its size and mtime have not changed this long' },
  polling: { env: 'POSEPIPE_POLLING', flag: '--polling', kind: 'enum', values: ['auto', 'always', 'never'], doc: 'watch by polling (auto: on WSL drive mounts and network filesystems)' },
  afterDone: { env: 'POSEPIPE_AFTER_DONE', flag: '--after-done', kind: 'enum', values: ['keep', 'move', 'delete'], doc: 'what posepipe start does with an inbox file once its job is done: keep it, move it to inbox/done/, or delete it (only once its JSON is in the outbox)' },
  rescanSeconds: { env: 'POSEPIPE_RESCAN_SECONDS', flag: '--rescan-seconds', kind: 'number', min: 1, max: 86400, doc: 'full rescan of the inbox, for events the OS dropped' },
  startupSeconds: { env: 'POSEPIPE_STARTUP_SECONDS', flag: '--startup-seconds', kind: 'number', min: 1, max: 7200, doc: 'deadline for the tracker worker to load its models' },
  heartbeatSeconds: { env: 'POSEPIPE_HEARTBEAT_SECONDS', flag: '--heartbeat-seconds', kind: 'number', min: 1, max: 7200, doc: 'a worker silent this long is killed and the chunk retried' },
  advanceSeconds: { env: 'POSEPIPE_ADVANCE_SECONDS', flag: '--advance-seconds', kind: 'number', min: 1, max: 86400, doc: 'a worker whose frame count does not advance this long is killed and the chunk retried' },
  minChunkFrames: { env: 'POSEPIPE_MIN_CHUNK_FRAMES', flag: '--min-chunk-frames', kind: 'int', min: 1, max: 100000, doc: 'an out-of-memory chunk is halved down to this many frames, then the job fails' },
  maxWorkerMemoryMb: { env: 'POSEPIPE_MAX_WORKER_MEMORY_MB', flag: '--max-worker-memory-mb', kind: 'int', min: 0, max: 10_000_000, doc: 'restart the worker between chunks when its resident memory exceeds this (0: never)' },
  maxAttempts: { env: 'POSEPIPE_MAX_ATTEMPTS', flag: '--max-attempts', kind: 'int', min: 1, max: 100, doc: 'attempts per chunk after a crash or stall' },
  maxWidth: { env: 'POSEPIPE_MAX_WIDTH', flag: '--max-width', kind: 'int', min: 1, max: 1_000_000, doc: 'videos wider than this (as displayed) are refused at probe, before any decoding' },
  maxHeight: { env: 'POSEPIPE_MAX_HEIGHT', flag: '--max-height', kind: 'int', min: 1, max: 1_000_000, doc: 'videos taller than this (as displayed) are refused at probe, before any decoding' },
  maxDurationSeconds: { env: 'POSEPIPE_MAX_DURATION_SECONDS', flag: '--max-duration-seconds', kind: 'number', min: 1, max: 31_536_000, doc: 'videos longer than this are refused at probe, before any decoding' },
  maxChunks: { env: 'POSEPIPE_MAX_CHUNKS', flag: '--max-chunks', kind: 'int', min: 1, max: 1_000_000, doc: 'videos that would make more chunks than this (estimated frames / frames per chunk) are refused before chunking' },
  webhookUrl: { env: 'POSEPIPE_WEBHOOK_URL', flag: '--webhook-url', kind: 'url', doc: 'POST a small JSON here when a job finishes or fails (empty: off)' },
  workers: { env: 'POSEPIPE_WORKERS', flag: '--workers', kind: 'workers', doc: 'tracker slots side by side: auto (one per visible GPU; builtin on the CPU: one per core, at most 4; else one), a count, or devices such as cuda:0,cuda:1' },
  redisUrl: { env: 'POSEPIPE_REDIS_URL', flag: '--redis', kind: 'redis', doc: 'Redis (redis://HOST:PORT) whose BullMQ queue offers chunks to GPU machines running posepipe worker (empty: no remote workers)' },
  workerToken: { env: 'POSEPIPE_WORKER_TOKEN', flag: '--worker-token', kind: 'secret', doc: 'shared secret of the coordinator and its workers (at least 16 characters); required when the coordinator listens beyond loopback' },
  coordinator: { env: 'POSEPIPE_COORDINATOR', flag: '--coordinator', kind: 'url', doc: 'posepipe worker: the coordinator (posepipe start) whose chunks it tracks, http://HOST:PORT' },
  leaseSeconds: { env: 'POSEPIPE_LEASE_SECONDS', flag: '--lease-seconds', kind: 'number', min: 1, max: 86400, doc: 'a remote attempt whose frames do not advance this long is taken back and tracked again' },
  workerExpirySeconds: { env: 'POSEPIPE_WORKER_EXPIRY_SECONDS', flag: '--worker-expiry-seconds', kind: 'number', min: 1, max: 86400, doc: 'a remote worker\'s slot not heard from this long leaves the page (workers say hello every 5 s; a slot holding an attempt stays)' },
  prepareAhead: { env: 'POSEPIPE_PREPARE_AHEAD', flag: '--prepare-ahead', kind: 'int', min: 0, max: 100, doc: 'queued jobs copied, probed and chunked ahead while the slots track (0: one job at a time up to tracking)' },
  extras: { env: 'POSEPIPE_EXTRAS', flag: '--extras', kind: 'extras', doc: 'which backend extras each person carries in the output: all, none, or names such as keypoints2d,joints3d (track, bbox and score always)' },
  exports: { env: 'POSEPIPE_EXPORTS', flag: '--exports', kind: 'exports', doc: `exports written into the outbox beside the output when a job finishes: none, or format names such as mot,csv (${EXPORT_FORMAT_NAMES.join(', ')}; one its backend does not give is skipped)` },
  outputFormat: { env: 'POSEPIPE_OUTPUT_FORMAT', flag: '--output-format', kind: 'enum', values: ['json', 'jsonl'], doc: 'json: one JSON document per video (<name>.json); jsonl: a first line with everything but the frames, then one frame per line (<name>.jsonl), for streaming readers. A job keeps the format it was queued with' },
  previewSize: { env: 'POSEPIPE_PREVIEW_SIZE', flag: '--preview-size', kind: 'int', min: 0, max: 4320, doc: 'the job page plays a preview (H.264 MP4) whose shorter side is at most this many pixels (0: no preview video)' },
  uploadMaxMb: { env: 'POSEPIPE_UPLOAD_MAX_MB', flag: '--upload-max-mb', kind: 'int', min: 0, max: 100_000_000, doc: 'largest video (MiB) the status page takes as an upload into the inbox (0: uploads off)' },
  minFreeMb: { env: 'POSEPIPE_MIN_FREE_MB', flag: '--min-free-mb', kind: 'int', min: 0, max: 100_000_000, doc: 'free space (MiB) the home filesystem must keep after staging and after chunking; checked before each' },
  auth: { env: 'POSEPIPE_AUTH', flag: '--auth', kind: 'enum', values: ['auto', 'on', 'off'], doc: 'login for the status page and its API: auto (required whenever the listener is not loopback-only), on (also on loopback: behind a reverse proxy or a tunnel), off (refused unless loopback)' },
  pageToken: { env: 'POSEPIPE_PAGE_TOKEN', flag: '--page-token', kind: 'secret', doc: 'the operator token of the status page (at least 16 characters); empty: one is generated at first start and kept in the home folder (posepipe token prints it)' },
  viewerToken: { env: 'POSEPIPE_VIEWER_TOKEN', flag: '--viewer-token', kind: 'secret', doc: 'a read-only token of the status page (pages, API reads, /metrics); empty: one is generated and kept in the home folder (posepipe token --viewer prints it)' },
  tlsCert: { env: 'POSEPIPE_TLS_CERT', flag: '--tls-cert', kind: 'file', doc: 'PEM certificate (chain) to serve the page and the worker API over https (with tlsKey; empty: plain http)' },
  tlsKey: { env: 'POSEPIPE_TLS_KEY', flag: '--tls-key', kind: 'file', doc: 'PEM private key of tlsCert' },
  ca: { env: 'POSEPIPE_CA', flag: '--ca', kind: 'file', doc: 'posepipe worker: a PEM certificate (or CA) to trust for an https coordinator, such as a self-signed one (empty: the system\'s CAs)' },
  maxResultMb: { env: 'POSEPIPE_MAX_RESULT_MB', flag: '--max-result-mb', kind: 'int', min: 1, max: 2047, doc: 'largest chunk result (MiB) a remote worker may upload; a smaller cap follows from the attempt\'s frame count' },
  maxLiveStreams: { env: 'POSEPIPE_MAX_LIVE_STREAMS', flag: '--max-live-streams', kind: 'int', min: 1, max: 100_000, doc: 'live-update streams the page serves at once (503 beyond)' },
  maxUploads: { env: 'POSEPIPE_MAX_UPLOADS', flag: '--max-uploads', kind: 'int', min: 1, max: 1000, doc: 'uploads (page videos and worker results each) taken at once (429 beyond)' },
  idleSeconds: { env: 'POSEPIPE_IDLE_SECONDS', flag: '--idle-seconds', kind: 'number', min: 1, max: 86400, doc: 'an upload or download that moves no byte this long is cut off (a slow transfer that keeps moving is never cut)' },
} as const satisfies Record<string, Spec>;

export type ConfigKey = keyof typeof CONFIG_SPEC;

/** The output's form: one JSON document, or JSON Lines (a header line, then one frame per line). */
export type OutputFormat = 'json' | 'jsonl';

/** The validated configuration. */
export interface Config {
  readonly inbox: string;
  readonly outbox: string;
  readonly home: string;
  readonly chunkSeconds: number;
  readonly overlapFrames: number;
  readonly tracker: 'builtin' | 'keypoints' | 'phalp' | 'test-fixture';
  readonly python: string;
  readonly port: number;
  readonly host: string;
  readonly readySeconds: number;
  readonly polling: 'auto' | 'always' | 'never';
  /** What `start` does with an inbox file whose job is done (never with a `run` file). */
  readonly afterDone: 'keep' | 'move' | 'delete';
  readonly rescanSeconds: number;
  readonly startupSeconds: number;
  readonly heartbeatSeconds: number;
  readonly advanceSeconds: number;
  readonly minChunkFrames: number;
  readonly maxWorkerMemoryMb: number;
  readonly maxAttempts: number;
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly maxDurationSeconds: number;
  readonly maxChunks: number;
  readonly minFreeMb: number;
  readonly auth: 'auto' | 'on' | 'off';
  /** Operator token of the page; '' when it is to be generated (or read) under home. */
  readonly pageToken: string;
  /** Read-only token of the page; '' when it is to be generated (or read) under home. */
  readonly viewerToken: string;
  /** PEM files for https; '' when off. */
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** posepipe worker: PEM to trust for the coordinator; '' for the system's CAs. */
  readonly ca: string;
  readonly maxResultMb: number;
  readonly maxLiveStreams: number;
  readonly maxUploads: number;
  readonly idleSeconds: number;
  /** 'all', 'none', or a comma list of extra names. */
  readonly extras: string;
  /** 'none', or a comma list of export format names written when a job finishes. */
  readonly exports: string;
  readonly outputFormat: OutputFormat;
  readonly previewSize: number;
  readonly uploadMaxMb: number;
  /** `auto`, a count of slots ("3"), or one device per slot ("cuda:0,cuda:1"); see scheduler/slots.ts. */
  readonly workers: string;
  /** redis:// URL of the BullMQ queue remote workers take chunks from; '' when off. */
  readonly redisUrl: string;
  /** Shared secret of coordinator and workers; '' when none. */
  readonly workerToken: string;
  /** posepipe worker: the coordinator's http URL; '' otherwise. */
  readonly coordinator: string;
  readonly leaseSeconds: number;
  /** A remote slot unheard-of this long is removed from the workers table (and the page). */
  readonly workerExpirySeconds: number;
  /** Jobs beyond the one tracking that are copied, probed and chunked ahead (their chunks wait for a slot). */
  readonly prepareAhead: number;
  /** http(s) URL that gets a POST when a job is done or failed; '' when off. */
  readonly webhookUrl: string;
  /** Test hook POSEPIPE_CRASHPOINT (see crashpoint.ts); not a user setting. */
  readonly crashpoint: string | undefined;
  /**
   * The chosen backend's own settings: every POSEPIPE_<BACKEND>_* environment variable (such as
   * POSEPIPE_BUILTIN_MIN_HITS), which the tracker worker inherits; read here so that a job can record them.
   */
  readonly backendEnv: Readonly<Record<string, string>>;
  /** Where each key's value came from, for messages. */
  readonly sources: Readonly<Record<ConfigKey, string>>;
}

/** A bad configuration value: names the key and where the value came from. The CLI exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What loadConfig reads; tests pass their own. */
export interface ConfigInput {
  env?: NodeJS.ProcessEnv;
  flags?: Partial<Record<ConfigKey, string>>;
  /** Explicit config file; otherwise POSEPIPE_CONFIG, then ./posepipe.config.json if present. */
  configFile?: string;
  cwd?: string;
  /** Whether this runs under WSL (decides Windows path translation); detected when omitted. */
  wsl?: boolean;
}

function defaults(env: NodeJS.ProcessEnv): Record<ConfigKey, string | number> {
  const dataHome = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return {
    inbox: 'inbox',
    outbox: 'outbox',
    home: join(dataHome, 'posepipe'),
    chunkSeconds: 10,
    overlapFrames: 16,
    tracker: 'builtin',
    python: join(REPO_ROOT, 'python', '.venv', 'bin', 'python'),
    port: 8765,
    host: '127.0.0.1',
    readySeconds: 3,
    polling: 'auto',
    afterDone: 'keep',
    rescanSeconds: 30,
    startupSeconds: 300,
    heartbeatSeconds: 60,
    advanceSeconds: 600,
    minChunkFrames: 8,
    maxWorkerMemoryMb: 0,
    maxAttempts: 3,
    maxWidth: 7680,
    maxHeight: 4320,
    maxDurationSeconds: 4 * 3600,
    maxChunks: 2000,
    minFreeMb: 256,
    auth: 'auto',
    pageToken: '',
    viewerToken: '',
    tlsCert: '',
    tlsKey: '',
    ca: '',
    maxResultMb: 512,
    maxLiveStreams: 64,
    maxUploads: 4,
    idleSeconds: 60,
    extras: 'all',
    exports: 'none',
    outputFormat: 'json',
    previewSize: 720,
    uploadMaxMb: 16384,
    workers: 'auto',
    prepareAhead: 2,
    redisUrl: '',
    workerToken: '',
    coordinator: '',
    leaseSeconds: 60,
    workerExpirySeconds: 120,
    webhookUrl: '',
  };
}

/** True under Windows Subsystem for Linux. */
export function detectWsl(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.WSL_DISTRO_NAME) return true;
  try {
    return /microsoft/i.test(readFileSync('/proc/version', 'utf8'));
  } catch {
    return false;
  }
}

/** `C:\videos\in` → `/mnt/c/videos/in`; other paths unchanged. */
export function translateWindowsPath(value: string): string {
  const m = /^([A-Za-z]):(?:[\\/](.*))?$/s.exec(value);
  if (!m) return value;
  const rest = (m[2] ?? '').replace(/\\/g, '/').replace(/\/+$/, '');
  return `/mnt/${m[1]!.toLowerCase()}${rest ? `/${rest}` : ''}`;
}

const MAX_SLOTS = 64;

/** `workers`: auto, a count of slots (1-64), or a comma list of devices (cuda, cuda:N, cpu), normalised. */
function parseWorkers(raw: unknown, where: string): string {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (text === 'auto') return text;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > MAX_SLOTS) throw new ConfigError(`Invalid ${where}: ${n} slots is above the maximum ${MAX_SLOTS}`);
    return String(n);
  }
  const devices = text.split(',').map((d) => d.trim());
  const bad = devices.find((d) => !/^(cpu|cuda(:\d+)?)$/.test(d));
  if (text === '' || bad !== undefined) {
    throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not auto, a number of slots, or devices such as cuda:0,cuda:1 (bad: ${JSON.stringify(bad ?? text)})`);
  }
  if (devices.length > MAX_SLOTS) throw new ConfigError(`Invalid ${where}: ${devices.length} slots is above the maximum ${MAX_SLOTS}`);
  return devices.join(',');
}

/** `extras`: all, none, or a comma list of extra names (lower case, digits, _), without repeats. */
function parseExtras(raw: unknown, where: string): string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === 'all' || text === 'none') return text;
  const names = text.split(',').map((n) => n.trim());
  const bad = names.find((n) => !/^[a-z][a-z0-9_]{0,63}$/.test(n) || ['track', 'bbox', 'score', 'all', 'none'].includes(n));
  if (text === '' || bad !== undefined) {
    throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not all, none, or extra names such as keypoints2d,joints3d (bad: ${JSON.stringify(bad ?? text)}; track, bbox and score are always written)`);
  }
  return [...new Set(names)].join(',');
}

/** `exports`: none, or a comma list of export format names, without repeats. */
function parseExports(raw: unknown, where: string): string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === 'none') return text;
  const names = text.split(',').map((n) => n.trim());
  const bad = names.find((n) => !(EXPORT_FORMAT_NAMES as readonly string[]).includes(n));
  if (text === '' || bad !== undefined) {
    throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not none or export formats from ${EXPORT_FORMAT_NAMES.join(', ')} such as mot,csv (bad: ${JSON.stringify(bad ?? text)})`);
  }
  return [...new Set(names)].join(',');
}

/** The exports setting as a list of format names (none: empty). */
export function exportsList(exports: string): string[] {
  return exports === 'none' ? [] : exports.split(',');
}

/** The extras setting as emit takes it: every extra, or only those named. */
export function extrasFilter(extras: string): 'all' | readonly string[] {
  return extras === 'all' ? 'all' : extras === 'none' ? [] : extras.split(',');
}

/** `raw` as a URL with one of `protocols`, or undefined. */
function parseUrl(raw: unknown, protocols: string[]): URL | undefined {
  try {
    const url = typeof raw === 'string' ? new URL(raw) : undefined;
    return url && protocols.includes(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

function parseValue(key: ConfigKey, raw: unknown, source: string, base: string, wsl: boolean): string | number {
  const spec: Spec = CONFIG_SPEC[key];
  const where = `${key} (from ${source})`;
  if (spec.kind === 'int' || spec.kind === 'number') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n)) throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not a number`);
    if (spec.kind === 'int' && !Number.isInteger(n)) throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not a whole number`);
    if (spec.min !== undefined && n < spec.min) throw new ConfigError(`Invalid ${where}: ${n} is below the minimum ${spec.min}`);
    if (spec.max !== undefined && n > spec.max) throw new ConfigError(`Invalid ${where}: ${n} is above the maximum ${spec.max}`);
    return n;
  }
  if (spec.kind === 'workers') return parseWorkers(raw, where);
  if (spec.kind === 'extras') return parseExtras(raw, where);
  if (spec.kind === 'exports') return parseExports(raw, where);
  if (spec.kind === 'redis') {
    if (raw === '') return '';
    const url = parseUrl(raw, ['redis:', 'rediss:']);
    if (!url || url.hostname === '') throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not a redis://HOST:PORT or rediss://HOST:PORT URL`);
    return url.href;
  }
  if (spec.kind === 'secret') {
    if (raw === '') return '';
    if (typeof raw !== 'string' || raw.length < 16 || /\s/.test(raw)) throw new ConfigError(`Invalid ${where}: a token is at least 16 characters without spaces (e.g. from: openssl rand -hex 24)`);
    return raw;
  }
  if (spec.kind === 'url') {
    if (raw === '') return '';
    const url = parseUrl(raw, ['http:', 'https:']);
    if (!url) throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not an http:// or https:// URL`);
    return url.href;
  }
  if (spec.kind === 'file' && raw === '') return '';
  if (typeof raw !== 'string' || raw === '') throw new ConfigError(`Invalid ${where}: expected a non-empty string, got ${JSON.stringify(raw)}`);
  if (spec.kind === 'enum' && !spec.values!.includes(raw)) {
    throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is not one of ${spec.values!.join(', ')}`);
  }
  if (spec.kind === 'path' || spec.kind === 'file') {
    let p = raw;
    if (/^[A-Za-z]:([\\/]|$)/.test(p)) {
      if (!wsl) throw new ConfigError(`Invalid ${where}: ${JSON.stringify(raw)} is a Windows path, but this is not WSL`);
      p = translateWindowsPath(p);
    }
    if (p === '~' || p.startsWith('~/')) p = join(homedir(), p.slice(1));
    return resolve(base, p);
  }
  return raw;
}

/** Build the configuration from defaults, file, environment and flags; throws ConfigError naming the key. */
export function loadConfig(input: ConfigInput = {}): Config {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const wsl = input.wsl ?? detectWsl(env);
  const keys = Object.keys(CONFIG_SPEC) as ConfigKey[];
  const values = {} as Record<ConfigKey, string | number>;
  const sources = {} as Record<ConfigKey, string>;
  const def = defaults(env);
  for (const key of keys) {
    values[key] = parseValue(key, def[key], 'default', cwd, wsl);
    sources[key] = 'default';
  }

  const file = input.configFile ?? env.POSEPIPE_CONFIG ?? (existsSync(join(cwd, 'posepipe.config.json')) ? join(cwd, 'posepipe.config.json') : undefined);
  if (file) {
    const path = resolve(cwd, file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`Config file ${path} must hold a JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      if (!(key in CONFIG_SPEC)) throw new ConfigError(`Unknown key ${JSON.stringify(key)} in ${path}; known keys: ${keys.join(', ')}`);
      // Relative paths in the file are relative to the file, as a reader of the file expects.
      values[key as ConfigKey] = parseValue(key as ConfigKey, raw, path, resolve(path, '..'), wsl);
      sources[key as ConfigKey] = path;
    }
  }

  for (const key of keys) {
    const name = CONFIG_SPEC[key].env;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    values[key] = parseValue(key, raw, name, cwd, wsl);
    sources[key] = name;
  }

  for (const [key, raw] of Object.entries(input.flags ?? {})) {
    if (raw === undefined) continue;
    values[key as ConfigKey] = parseValue(key as ConfigKey, raw, CONFIG_SPEC[key as ConfigKey].flag, cwd, wsl);
    sources[key as ConfigKey] = CONFIG_SPEC[key as ConfigKey].flag;
  }

  if ((values.tlsCert === '') !== (values.tlsKey === '')) {
    const [set, unset] = values.tlsCert === '' ? (['tlsKey', 'tlsCert'] as const) : (['tlsCert', 'tlsKey'] as const);
    throw new ConfigError(`Invalid ${set} (from ${sources[set]}): https needs both files; set ${unset} (${CONFIG_SPEC[unset].env}) too`);
  }
  for (const key of ['pageToken', 'viewerToken', 'workerToken'] as const) {
    const other = (['pageToken', 'viewerToken', 'workerToken'] as const).find((k) => k !== key && values[k] !== '' && values[k] === values[key]);
    if (other) throw new ConfigError(`Invalid ${key} (from ${sources[key]}): it is the same as ${other}; each role needs its own token`);
  }
  if (values.workers === '0' && values.redisUrl === '') {
    throw new ConfigError(`Invalid workers (from ${sources.workers}): 0 (a coordinator without local slots) only hands out work to remote workers: set POSEPIPE_REDIS_URL too, or give 1 or more`);
  }
  const prefix = `POSEPIPE_${String(values.tracker).toUpperCase().replace(/-/g, '_')}_`;
  const backendEnv = Object.fromEntries(
    Object.entries(env)
      .filter((e): e is [string, string] => e[0].startsWith(prefix) && typeof e[1] === 'string' && e[1] !== '')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return Object.freeze({
    ...(values as unknown as Omit<Config, 'sources' | 'crashpoint' | 'backendEnv'>),
    crashpoint: env.POSEPIPE_CRASHPOINT || undefined,
    backendEnv: Object.freeze(backendEnv),
    sources: Object.freeze(sources),
  });
}

/** The flag spelling → key map the CLI parses with. */
export function flagToKey(flag: string): ConfigKey | undefined {
  return (Object.keys(CONFIG_SPEC) as ConfigKey[]).find((k) => CONFIG_SPEC[k].flag === flag);
}
