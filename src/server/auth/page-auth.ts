/**
 * Whether the page asks for a login (the `auth` setting against the listen address), and the state
 * a login needs while the server runs: the tokens, the wrong-token throttle, the ended sessions.
 */
import { ConfigError, type Config } from '../../config.ts';
import { isLoopback } from '../loopback.ts';
import type { Role } from './role.ts';
import { EndedSessions } from './sessions.ts';
import { WrongTokenThrottle } from './throttle.ts';
import { LiveTokens, loadToken, type TokenOrigin } from './tokens.ts';

/**
 * Whether the page needs a login: `on` always; `auto` whenever the listener is not loopback-only;
 * `off` never, and only on loopback (throws ConfigError naming the key otherwise).
 */
export function loginNeeded(config: Config): boolean {
  const loopback = isLoopback(config.host);
  if (config.auth === 'off') {
    if (!loopback) {
      throw new ConfigError(
        `Invalid auth (from ${config.sources.auth}): off would open the status page and its actions to anyone who reaches ${JSON.stringify(config.host)} (host from ${config.sources.host}); off is accepted only on loopback (127.0.0.1, localhost, ::1): use auto (a login beyond loopback) or listen on 127.0.0.1`,
      );
    }
    return false;
  }
  return config.auth === 'on' || !loopback;
}

/** The login of one running server. */
export class PageAuth {
  readonly tokens: LiveTokens;
  readonly throttle: WrongTokenThrottle;
  readonly ended = new EndedSessions();
  /** Where each token came from at start (for the lines `posepipe start` prints). */
  readonly origins: Record<Role, TokenOrigin>;

  constructor(config: Config, opts: { throttle?: WrongTokenThrottle; warn?: (line: string) => void } = {}) {
    // Made (or read) once here, so a bad token file stops the start with its reason.
    this.origins = { operator: loadToken(config, 'operator', true)!, viewer: loadToken(config, 'viewer', true)! };
    this.tokens = new LiveTokens(this.origins, opts.warn);
    this.throttle = opts.throttle ?? new WrongTokenThrottle();
  }

  /** The role's token now (a rotated file is read again). */
  token(role: Role): string | undefined {
    return this.tokens.current(role);
  }
}

/** The login the page needs under `config`, or undefined when it needs none; throws ConfigError for auth=off beyond loopback or a bad token file. */
export function openPageAuth(config: Config, opts?: { warn?: (line: string) => void }): PageAuth | undefined {
  return loginNeeded(config) ? new PageAuth(config, opts) : undefined;
}

/**
 * What `posepipe start` prints about the login, as Jupyter does: an address that logs in with a
 * generated token (`base` is the page's address); a token from a setting is named, not printed.
 */
export function loginLines(auth: PageAuth, base: string): string[] {
  const at = (token: string) => new URL(`/login?token=${encodeURIComponent(token)}`, base).href;
  const { operator, viewer } = auth.origins;
  return [
    operator.file ? `posepipe: log in at ${at(operator.token)}` : `posepipe: log in at ${new URL('/login', base).href} with the page token from ${operator.source}`,
    viewer.file ? `posepipe: read-only: ${at(viewer.token)}` : `posepipe: read-only: log in with the viewer token from ${viewer.source}`,
    ...(operator.file || viewer.file ? [`posepipe: tokens kept in ${[operator.file, viewer.file].filter(Boolean).join(' and ')} (mode 0600); posepipe token [--viewer] --rotate replaces one`] : []),
  ];
}
