import type { Config } from '../config.ts';
import { loadToken, rotateToken } from '../server/index.ts';

/**
 * `posepipe token [--viewer] [--rotate]`: print the status page's operator token (or the viewer's),
 * making it first if there is none yet; `--rotate` replaces it, which ends every session logged in
 * with the old one, in a running posepipe too. The token alone goes to stdout, for scripts.
 */
export function tokenCommand(config: Config, opts: { viewer: boolean; rotate: boolean }): number {
  const role = opts.viewer ? 'viewer' : 'operator';
  const name = opts.viewer ? 'read-only (viewer) token' : 'page (operator) token';
  if (opts.rotate) {
    const { token, file } = rotateToken(config, role);
    console.log(token);
    console.error(`posepipe: the ${name} in ${file} was replaced: the old one, and every session logged in with it, no longer work (a running posepipe start reads the new one at once)`);
    return 0;
  }
  const origin = loadToken(config, role, true)!;
  console.log(origin.token);
  if (origin.generated) console.error(`posepipe: made a new ${name}, kept in ${origin.file} (mode 0600)`);
  return 0;
}
