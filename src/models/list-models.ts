import { existsSync } from 'node:fs';
import { formatBytes } from '../disk.ts';
import { displayName, terminalSafe } from '../progress.ts';
import type { ModelManifest } from './manifest.ts';
import { mirrorUrl } from './mirror.ts';

/**
 * `models pull --list`: per file its name, the URL it would be fetched from (after the mirror), the
 * alternates tried when that fails, and its destination; then the manual files with what to do.
 * Reads nothing from the network.
 */
export function listModels(opts: { manifest: ModelManifest; mirror?: string; out: { write(text: string): unknown } }): void {
  const { manifest } = opts;
  const line = (text: string) => opts.out.write(`${terminalSafe(text)}\n`);
  line(`models for ${manifest.backend}: ${manifest.files.length} to download, ${manifest.manual.length} to put in place by hand`);
  for (const f of manifest.files) {
    line(`${displayName(f.name)}${f.size === undefined ? '' : `  (${formatBytes(f.size)})`}`);
    line(`  url:  ${mirrorUrl(f.url, opts.mirror)}`);
    for (const alternate of f.alternates ?? []) line(`  also: ${mirrorUrl(alternate, opts.mirror)}`);
    line(`  dest: ${displayName(f.dest)}`);
    if (f.unpack) line(`  unpacks into: ${displayName(f.unpack.into)} (${f.unpack.provides.length} file(s) checked)`);
  }
  if (manifest.manual.length > 0) line('by hand (posepipe cannot download these):');
  for (const m of manifest.manual) {
    line(`${displayName(m.name)}  (${existsSync(m.dest) ? 'present' : 'missing'})`);
    line(`  dest: ${displayName(m.dest)}`);
    line(`  how:  ${m.how}`);
  }
}
