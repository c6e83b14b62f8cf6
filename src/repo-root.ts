/**
 * The repository root (where python/, schema/ and src/ live), from this module's own location: one
 * folder up from src/ when run from the sources, and one folder up from dist/ when run from the
 * build, which bundles this module into a file directly under dist/.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** A path inside the repository, the same whether posepipe runs from src/ or from dist/. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
