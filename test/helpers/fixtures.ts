import { join, resolve } from 'node:path';

/** Where the global setup leaves its generated fixture videos. */
export const FIXTURE_DIR = resolve('test-output/fixtures');
/** Bump when a recipe in global-setup.ts changes, so stale fixtures are remade. */
export const FIXTURE_RECIPES_VERSION = '4';

/** Path of a generated fixture (see global-setup.ts for what each one is). */
export function fixture(name: string): string {
  return join(FIXTURE_DIR, name);
}

/** The real street scene with people: H.264 1280x720, 50 fps, 205 frames. */
export const STREET_PEOPLE = resolve('../shared/fixtures/street-people.avi');
