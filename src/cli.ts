/**
 * posepipe's command line: argv → command. Exit codes: 0 success, 1 a job failed,
 * 2 bad usage or configuration (including "another posepipe holds this folder").
 */
import { readFileSync } from 'node:fs';
import { CONFIG_SPEC, ConfigError, flagToKey, loadConfig, type Config, type ConfigKey } from './config.ts';
import { DatabaseTooNewError, InstanceLockedError } from './db/index.ts';
import { parseMirror } from './models/index.ts';
import { repoPath } from './repo-root.ts';
import { quietOnClosedOutput } from './commands/closed-output.ts';

/** A command-line mistake: printed with the usage hint, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const USAGE = `usage: posepipe <command> [options]   (posepipe --version prints the version)

commands:
  start                    watch the inbox, run the pipeline, serve the status page
  run <video>              push one video through the pipeline in the foreground
  status [<job>] [--json]  list jobs, stages and chunks (a <job> is its id or its file name)
  resume <job>|--all-failed  queue failed (or cancelled) jobs again at their first unfinished step
  retry <job> <chunk>      track one failed chunk again (fresh attempts) and queue its job;
                           <chunk> as status shows it (from 1)
  cancel <job>...          cancel queued or running jobs (resume continues them)
  priority <job> <n>|--front  higher runs first (default 0); --front: ahead of every other job
  rerun <job>...           track a job's video again with today's settings, as a new job (the old one kept)
  delete <job>... [--output]  remove finished, failed or cancelled jobs and their files under home
                           (--output: their output in the outbox too; a running job: cancel it first)
  pause | unpause          stop / allow starting queued jobs (the running one goes on)
  worker --coordinator URL --redis URL
                           a GPU machine joining a coordinator (posepipe start with POSEPIPE_REDIS_URL)
  token [--viewer] [--rotate]
                           print the status page's login token (--viewer: the read-only one);
                           --rotate: replace it (sessions made with the old one end)
  export <job> --format F [--track N]... [--out DIR]
                           write an export of a done job's output into DIR (default: the outbox):
                           mot, csv or coco (docs/output.md describes each)
  doctor                   check ffmpeg, the Python venv and the tracker's imports
  models pull [--tracker NAME] [--list] [--mirror URL]
                           fetch the model files the tracker needs (--list: show them, fetch
                           nothing; --mirror: fetch https://HOST/PATH from URL/HOST/PATH)

options (each also a POSEPIPE_* variable or a key in posepipe.config.json):
  --inbox DIR  --outbox DIR  --home DIR  --chunk-seconds N  --overlap-frames N
  --tracker NAME  --python PATH  --port N  --host ADDR  --auth auto|on|off  --webhook-url URL  --config FILE
  (see README.md for all of them)`;

/** Parsed command line. */
export interface ParsedArgs {
  command: string;
  positional: string[];
  flags: Partial<Record<ConfigKey, string>>;
  switches: Set<string>;
  configFile?: string;
  /** `--mirror URL` of `models pull`: not a config key, like --config. */
  mirror?: string;
  /** `--format`, `--track` (repeatable) and `--out` of `export`. */
  export: { format?: string; tracks: string[]; out?: string };
}

const SWITCHES = new Set(['--json', '--all-failed', '--list', '--front', '--viewer', '--rotate', '--output', '--help', '-h', '--version', '-V']);
/** Options that take a value but are not configuration keys. */
const VALUE_OPTIONS = new Set(['--config', '--mirror', '--format', '--track', '--out']);

/** The option closest to a misspelt one (at most two edits away), for "did you mean". */
function closestOption(name: string): string | undefined {
  const known = [...SWITCHES, ...VALUE_OPTIONS, ...Object.values(CONFIG_SPEC).map((s) => s.flag)].filter((o) => o.startsWith('--'));
  let best: string | undefined;
  let bestDistance = 3;
  for (const option of known) {
    const d = editDistance(name, option);
    if (d < bestDistance) [best, bestDistance] = [option, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length]!;
}

function unknownOption(name: string): UsageError {
  const near = closestOption(name);
  return new UsageError(`Unknown option ${name}${near ? ` (did you mean ${near}?)` : ''}`);
}

/** Split argv into command, positional arguments, config flags and switches. */
export function parseArgs(argv: string[]): ParsedArgs {
  const [command = 'help', ...rest] = argv;
  const parsed: ParsedArgs = { command, positional: [], flags: {}, switches: new Set(), export: { tracks: [] } };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--') {
      parsed.positional.push(...rest.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d+$/.test(arg)) {
      parsed.positional.push(arg);
      continue;
    }
    if (SWITCHES.has(arg)) {
      parsed.switches.add(arg === '-h' ? '--help' : arg === '-V' ? '--version' : arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    // The name is checked before a value is read: a misspelt switch must not swallow the next word.
    if (SWITCHES.has(name)) throw new UsageError(`Option ${name} takes no value`);
    const key = flagToKey(name);
    if (!key && !VALUE_OPTIONS.has(name)) throw unknownOption(name);
    const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
    if (value === undefined) throw new UsageError(`Option ${name} needs a value (${name} VALUE or ${name}=VALUE)`);
    if (name === '--config') parsed.configFile = value;
    else if (name === '--mirror') parsed.mirror = value;
    else if (name === '--format') parsed.export.format = value;
    else if (name === '--track') parsed.export.tracks.push(value);
    else if (name === '--out') parsed.export.out = value;
    else parsed.flags[key!] = value;
  }
  return parsed;
}

function exportArgs(args: ParsedArgs): { job: string; format: string; tracks: string[]; out?: string } {
  if (args.positional.length !== 1) throw new UsageError('posepipe export takes exactly one job (its id or file name), e.g. posepipe export 12 --format mot');
  if (args.export.format === undefined) throw new UsageError('posepipe export needs --format (mot, csv or coco)');
  return { job: args.positional[0]!, format: args.export.format, tracks: args.export.tracks, out: args.export.out };
}

function modelsArgs(args: ParsedArgs): { list: boolean; mirror?: string } {
  if (args.positional.length !== 1 || args.positional[0] !== 'pull') throw new UsageError('posepipe models takes one subcommand: pull');
  if (args.mirror === undefined) return { list: args.switches.has('--list') };
  const mirror = parseMirror(args.mirror);
  if (mirror === undefined) throw new UsageError(`--mirror needs an http:// or https:// URL, got ${JSON.stringify(args.mirror)}`);
  return { list: args.switches.has('--list'), mirror };
}

/** posepipe's version, from its package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  quietOnClosedOutput();
  try {
    const args = parseArgs(argv);
    if (args.command === '--version' || args.command === '-V' || args.switches.has('--version')) {
      console.log(`posepipe ${version()}`);
      return 0;
    }
    if (args.command === 'help' || args.command === '--help' || args.command === '-h' || args.switches.has('--help')) {
      console.log(USAGE);
      return 0;
    }
    const config = (): Config => loadConfig({ flags: args.flags, configFile: args.configFile });
    if (args.command !== 'models' && (args.mirror !== undefined || args.switches.has('--list'))) throw new UsageError('--list and --mirror belong to posepipe models pull');
    if (args.command !== 'export' && (args.export.format !== undefined || args.export.tracks.length || args.export.out !== undefined)) throw new UsageError('--format, --track and --out belong to posepipe export');
    if (args.command !== 'token' && (args.switches.has('--viewer') || args.switches.has('--rotate'))) throw new UsageError('--viewer and --rotate belong to posepipe token');
    // Each command's modules are loaded only when it is the one run: a `status` or `cancel` then
    // loads in ~0.2 s of CPU instead of the ~1 s that every command's modules (the server, BullMQ,
    // the scheduler) take together.
    switch (args.command) {
      case 'start':
        return await (await import('./commands/start.ts')).startCommand(config());
      case 'run':
        if (args.positional.length !== 1) throw new UsageError('posepipe run takes exactly one video file');
        return await (await import('./commands/run.ts')).runCommand(config(), args.positional[0]!);
      case 'status':
        return (await import('./commands/status.ts')).statusCommand(config(), { json: args.switches.has('--json'), jobId: args.positional[0] });
      case 'resume':
        return (await import('./commands/actions.ts')).resumeCommand(config(), { all: args.switches.has('--all-failed'), jobIds: args.positional });
      case 'cancel':
        return (await import('./commands/actions.ts')).cancelCommand(config(), args.positional);
      case 'retry':
        return (await import('./commands/actions.ts')).retryCommand(config(), args.positional);
      case 'priority':
        return (await import('./commands/actions.ts')).priorityCommand(config(), { front: args.switches.has('--front'), args: args.positional });
      case 'rerun':
        return (await import('./commands/rerun.ts')).rerunCommand(config(), args.positional);
      case 'delete':
        return (await import('./commands/delete.ts')).deleteCommand(config(), { args: args.positional, output: args.switches.has('--output') });
      case 'pause':
      case 'unpause':
        if (args.positional.length) throw new UsageError(`posepipe ${args.command} takes no arguments`);
        return (await import('./commands/actions.ts')).intakeCommand(config(), args.command === 'pause');
      case 'worker':
        if (args.positional.length) throw new UsageError('posepipe worker takes no arguments (--coordinator URL --redis URL)');
        return await (await import('./commands/worker.ts')).workerCommand(config());
      case 'token':
        if (args.positional.length) throw new UsageError('posepipe token takes no arguments ([--viewer] [--rotate])');
        return (await import('./commands/token.ts')).tokenCommand(config(), { viewer: args.switches.has('--viewer'), rotate: args.switches.has('--rotate') });
      case 'export':
        return await (await import('./commands/export.ts')).exportCommand(config(), exportArgs(args));
      case 'doctor':
        return await (await import('./commands/doctor.ts')).doctorCommand(config());
      case 'models':
        return await (await import('./commands/models.ts')).modelsCommand(config(), modelsArgs(args));
      default:
        if (args.command.startsWith('-')) throw new UsageError(`${args.command} is not a command: the command comes first, then its options (posepipe status --json)`);
        throw new UsageError(`Unknown command "${args.command}"`);
    }
  } catch (error) {
    return failure(error);
  }
}

/**
 * One line for whatever stopped a command: a usage or configuration error (exit 2), a file or
 * folder the system refused (exit 2: the message names the path), and only for posepipe's own bug a
 * stack (exit 1), which is what a report needs.
 */
function failure(error: unknown): number {
  if (error instanceof UsageError) {
    console.error(`posepipe: ${error.message}; posepipe --help lists the commands and options`);
    return 2;
  }
  if (error instanceof ConfigError || error instanceof InstanceLockedError || error instanceof DatabaseTooNewError) {
    console.error(`posepipe: ${error.message}`);
    return 2;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    console.error(`posepipe: ${error.message}`);
    return 2;
  }
  console.error(`posepipe: unexpected error (a bug in posepipe: please report it with these lines): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
}
