/**
 * Golden files: bytes an output must keep, committed gzipped under test/golden/. With
 * POSEPIPE_WRITE_GOLDEN=1 the bytes given are written instead, and the test fails saying so, so
 * that a run meant to check can never pass by writing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { expect } from 'vitest';

export const GOLDEN_DIR = resolve('test/golden');

/** The first differing byte of a and b, with some text around it, for the failure message. */
function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const around = (x: Buffer) => JSON.stringify(x.subarray(Math.max(0, i - 60), i + 60).toString('utf8'));
  return `${a.length} bytes against the golden's ${b.length}; first difference at byte ${i}:\n  got    ${around(a)}\n  golden ${around(b)}`;
}

/** The bytes of test/golden/<name>.gz, unzipped. */
export function readGolden(name: string): Buffer {
  return gunzipSync(readFileSync(join(GOLDEN_DIR, `${name}.gz`)));
}

/** Fail unless `bytes` equal test/golden/<name>.gz (unzipped); see the file comment for writing it. */
export function expectGolden(name: string, bytes: Buffer): void {
  const file = join(GOLDEN_DIR, `${name}.gz`);
  if (process.env.POSEPIPE_WRITE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, gzipSync(bytes, { level: 9 }));
    expect.fail(`wrote ${file} (POSEPIPE_WRITE_GOLDEN=1); commit it, then run without the variable`);
  }
  expect(existsSync(file), `${file} is missing: write it with POSEPIPE_WRITE_GOLDEN=1 (see test/helpers/golden.ts)`).toBe(true);
  const golden = gunzipSync(readFileSync(file));
  if (!bytes.equals(golden)) expect.fail(`${name} is not the golden's bytes: ${firstDifference(bytes, golden)}`);
}
