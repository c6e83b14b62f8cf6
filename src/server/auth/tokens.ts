/**
 * The page's two tokens: the operator's (everything) and the viewer's (reading only). Each comes
 * from its setting or, when that is empty, from a file under the home folder that is made at first
 * need with mode 0600 and read again whenever it changes, so `posepipe token --rotate` takes effect
 * in a running server at once.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONFIG_SPEC, ConfigError, type Config } from '../../config.ts';
import type { Role } from './role.ts';

const FILE_NAMES: Record<Role, string> = { operator: 'page-token', viewer: 'viewer-token' };
const KEYS = { operator: 'pageToken', viewer: 'viewerToken' } as const;
/** What a token may look like in a file: printable ASCII without spaces, as the settings require. */
const TOKEN_TEXT = /^[\x21-\x7e]{16,512}$/;

/** Where a role's generated token is kept. */
export function tokenFile(home: string, role: Role): string {
  return join(home, FILE_NAMES[role]);
}

/** A fresh random token: 32 bytes, URL-safe, so it can ride in a login address as it is. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A role's token and where it came from (a setting's name, or its file). */
export interface TokenOrigin {
  token: string;
  /** `POSEPIPE_PAGE_TOKEN`, `--page-token`, a config file, or the token file's path. */
  source: string;
  /** The token file when the token lives in one. */
  file?: string;
  /** Whether this call made the file. */
  generated: boolean;
}

/** The error text for a token file that is not what posepipe wrote. */
function refuse(path: string, why: string): ConfigError {
  const viewer = path.endsWith(FILE_NAMES.viewer) ? ' --viewer' : '';
  return new ConfigError(`Cannot use the token file ${path}: ${why}; run posepipe token${viewer} --rotate to write a new one (mode 0600)`);
}

/** Read a token file: a regular file of ours, not a link, readable by us alone, holding one token. Throws ConfigError naming the file. */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw error;
    throw refuse(path, code === 'ELOOP' ? 'it is a symbolic link' : (error as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(path, 'it is not a regular file');
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw refuse(path, `it belongs to user ${st.uid}, not to the user posepipe runs as`);
    // Like ssh with a private key: a token others could read may have leaked.
    if ((st.mode & 0o077) !== 0) throw refuse(path, `others may read or change it (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}), so the token may have leaked`);
    if (st.size > 1024) throw refuse(path, `it is ${st.size} bytes, far more than one token`);
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, st.size, 0);
    const text = buf.subarray(0, n).toString('utf8').replace(/\r?\n$/, '');
    if (!TOKEN_TEXT.test(text)) throw refuse(path, 'it does not hold one token of 16 to 512 printable characters without spaces');
    return text;
  } finally {
    closeSync(fd);
  }
}

/**
 * Write `token` to `path`: a temporary file created with mode 0600 from the start (never a moment
 * readable by others), flushed, then either renamed over the old one (`replace`) or linked in only
 * if there is none yet. Returns false when not replacing and a file was already there.
 */
export function writeTokenFile(path: string, token: string, replace: boolean): boolean {
  try {
    return writeFile(path, token, replace);
  } catch (error) {
    throw new ConfigError(`Cannot write the token file ${path}: ${(error as Error).message}`);
  }
}

function writeFile(path: string, token: string, replace: boolean): boolean {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.token-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${token}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (replace) renameSync(temp, path);
    else {
      try {
        linkSync(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    }
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
    return true;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // renamed away: nothing left to remove
    }
  }
}

/** A role's token: its setting when set, else its file under home, made with a new random token when `create` and missing. */
export function loadToken(config: Config, role: Role, create: boolean): TokenOrigin | undefined {
  const key = KEYS[role];
  if (config[key] !== '') return { token: config[key], source: config.sources[key], generated: false };
  const file = tokenFile(config.home, role);
  for (let i = 0; i < 3; i++) {
    try {
      return { token: readTokenFile(file), source: file, file, generated: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (!create) return undefined;
    const token = newToken();
    // Another process may have made it in between: then that one is the token.
    if (writeTokenFile(file, token, false)) return { token, source: file, file, generated: true };
  }
  throw new ConfigError(`Cannot make the token file ${file}: it keeps appearing and disappearing`);
}

/** Replace a role's generated token with a new one; a token from a setting is changed where it is set. Returns the new token and its file. */
export function rotateToken(config: Config, role: Role): { token: string; file: string } {
  const key = KEYS[role];
  if (config[key] !== '') {
    throw new ConfigError(`The ${role} token comes from ${config.sources[key]} (${key}): change it there and restart posepipe; --rotate replaces only a generated token (kept in ${tokenFile(config.home, role)} when ${CONFIG_SPEC[key].env} is unset)`);
  }
  const file = tokenFile(config.home, role);
  const token = newToken();
  writeTokenFile(file, token, true);
  return { token, file };
}

interface Entry {
  token: string | undefined;
  file?: string;
  /** The file's identity and times when it was last read: a change means read it again. */
  stamp: string;
}

/** The tokens a running server checks against: a file-kept token is read again whenever its file changes. */
export class LiveTokens {
  readonly #entries: Record<Role, Entry>;
  readonly #warn: (line: string) => void;

  /** Watch the tokens as loaded (loadToken) at start. */
  constructor(origins: Record<Role, TokenOrigin>, warn: (line: string) => void = (l) => console.warn(l)) {
    this.#warn = warn;
    const entry = (o: TokenOrigin): Entry => ({ token: o.token, file: o.file, stamp: o.file ? stampOf(o.file) : '' });
    this.#entries = { operator: entry(origins.operator), viewer: entry(origins.viewer) };
  }

  /** The role's token now, or undefined when its file has become unusable (no one logs in with it then). */
  current(role: Role): string | undefined {
    const e = this.#entries[role];
    if (!e.file) return e.token;
    const stamp = stampOf(e.file);
    // A file removed keeps the token in force: `posepipe token` makes a new one, which is read then.
    if (stamp === e.stamp || stamp === '') return e.token;
    e.stamp = stamp;
    try {
      e.token = readTokenFile(e.file);
    } catch (error) {
      e.token = undefined;
      this.#warn(`posepipe: warning: no one can log in as ${role} until this is fixed: ${(error as Error).message}`);
    }
    return e.token;
  }
}

function stampOf(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.mode}` : '';
}
