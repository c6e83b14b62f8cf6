import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pullModels, type ModelFile } from '../../src/models/index.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import { fast, fileServersPerTest, HOST, manifestOf, md5, output, sha256 } from './pull-helpers.ts';

const PKL = randomBytes(100 * 1024);
const workspace = workspacesPerTest();
const serve = fileServersPerTest();

/** detectron2's model_final_<md5 prefix>.pkl, here with the prefix of PKL's real MD5. */
function pkl(root: string, md5Prefix = md5(PKL).slice(0, 6)): ModelFile {
  return { name: `model_final_${md5Prefix}.pkl`, url: `https://${HOST}/detectron2/model_final.pkl`, dest: join(root, 'detectron2', 'model_final.pkl'), md5Prefix };
}
const routes = () => ({ [`/${HOST}/detectron2/model_final.pkl`]: { body: PKL } });

describe('md5Prefix: the leading MD5 digits that detectron2 puts in its file names', () => {
  it('passes a right file, also with a sha256Prefix checked in the same read, and asks no server about it again', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const file = { ...pkl(ws.root), sha256Prefix: sha256(PKL).slice(0, 10) };
    const report = await pullModels({ manifest: manifestOf([file]), mirror: s.base, out: output(), ...fast });
    expect([report.exitCode, report.fetched.length]).toEqual([0, 1]);
    expect(readFileSync(file.dest).equals(PKL)).toBe(true);
    const again = output();
    expect((await pullModels({ manifest: manifestOf([file]), mirror: s.base, out: again, ...fast })).present).toHaveLength(1);
    expect(again.text).toContain(`${file.name}: ok (already there)\n`);
    // The hash vouches for the file: no HEAD for its size.
    expect(s.requests).toHaveLength(1);
  });

  it('fetches again a destination whose MD5 does not start with the prefix', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const file = pkl(ws.root);
    const other = randomBytes(PKL.length);
    mkdirSync(dirname(file.dest), { recursive: true });
    writeFileSync(file.dest, other);
    const out = output();
    expect((await pullModels({ manifest: manifestOf([file]), mirror: s.base, out, ...fast })).fetched).toHaveLength(1);
    expect(out.text).toContain(`is corrupt (md5 mismatch: expected a hash starting ${file.md5Prefix}, got ${md5(other)}); fetching it again`);
    expect(readFileSync(file.dest).equals(PKL)).toBe(true);
  });

  it('fails naming the md5 mismatch when the server\'s file does not match, after fetching it twice', async () => {
    const ws = workspace('models');
    const s = await serve(routes());
    const wrong = (md5(PKL).startsWith('0') ? '1' : '0') + md5(PKL).slice(1, 6);
    const file = pkl(ws.root, wrong);
    const report = await pullModels({ manifest: manifestOf([file]), mirror: s.base, out: output(), ...fast });
    expect(report.exitCode).toBe(2);
    expect(report.failed.map((f) => f.cause)).toEqual([`md5 mismatch: expected a hash starting ${wrong}, got ${md5(PKL)}`]);
    expect(s.requests).toHaveLength(2);
  });
});
