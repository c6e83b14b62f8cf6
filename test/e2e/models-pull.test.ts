/**
 * `posepipe models pull --tracker phalp` end to end: the real CLI asks the real worker (with the
 * stand-in PHALP/4D-Humans packages and an empty HOME) where every file belongs, and fetches them
 * from a local HTTP server standing in for the upstream hosts (--mirror). One file's connection
 * drops halfway, one file already there is truncated, 4D-Humans' own archive link is dead (its
 * copy on the second host serves it), and the two files whose hashes upstream publishes cannot be
 * forged here, so the pull must refuse them. Then `posepipe doctor` checks the same list.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PHALP_STAND_INS } from '../helpers/backends.ts';
import { cliEnv, runCli, TEST_PYTHON } from '../helpers/cli.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import { fileServersPerTest } from '../models/pull-helpers.ts';
import type { Route } from '../models/file-server.ts';

interface Entry { name: string; url: string; alternates?: string[]; dest: string; sha256Prefix?: string; md5Prefix?: string; unpack?: { into: string; provides: string[] } }
interface Manifest { files: Entry[]; manual: Array<{ name: string; dest: string; how: string }> }

const workspace = workspacesPerTest();
const serve = fileServersPerTest();

function manifestFor(env: NodeJS.ProcessEnv): Manifest {
  const r = spawnSync(TEST_PYTHON, [resolve('python/posepipe_worker.py'), '--models', '--backend', 'phalp'], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`--models failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Manifest;
}

/** `/HOST/PATH` of a URL, as the mirror serves it. */
const mirrored = (url: string) => `/${new URL(url).host}${new URL(url).pathname}`;

/** hmr2_data.tar.gz as 4D-Humans publishes it: the files load_hmr2 reads, relative to its cache. */
function hmr2Archive(root: string, entry: Entry): Buffer {
  const staging = join(root, 'tar-staging');
  for (const path of entry.unpack!.provides) {
    const inside = join(staging, relative(entry.unpack!.into, path));
    mkdirSync(dirname(inside), { recursive: true });
    writeFileSync(inside, randomBytes(1000));
  }
  const archive = join(root, 'hmr2_data.tar.gz');
  const r = spawnSync('tar', ['-czf', archive, '-C', staging, 'logs', 'data']);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return readFileSync(archive);
}

describe('posepipe models pull --tracker phalp (the real worker says where)', () => {
  it('fetches every file to where the libraries look: resumed, a truncated one fetched again, a dead link replaced, unforgeable hashes refused', async () => {
    const ws = workspace('models-pull');
    const home = join(ws.root, 'home');
    const env = cliEnv(ws, { PYTHONPATH: PHALP_STAND_INS, HOME: home, POSEPIPE_TRACKER: 'phalp', POSEPIPE_PHALP_DEVICE: 'cpu', POSEPIPE_STANDIN_GL_LIBS: 'EGL,OpenGL' });
    const manifest = manifestFor(env);
    expect(manifest.files.map((f) => f.name)).toContain('hmar_v2_weights.pth');
    expect(manifest.files.every((f) => f.dest.startsWith(home))).toBe(true);

    const bodies = new Map<string, Buffer>();
    const routes: Record<string, Route> = {};
    for (const f of manifest.files) {
      const body = f.unpack ? hmr2Archive(ws.root, f) : randomBytes(f.name === 'hmar_v2_weights.pth' ? 300_000 : 20_000);
      bodies.set(f.name, body);
      // 4D-Humans' own link is dead: only its copy (the first alternate) is served.
      const path = mirrored(f.unpack ? f.alternates![0]! : f.url);
      routes[path] = { body, ...(f.name === 'hmar_v2_weights.pth' ? { dropAt: 150_000 } : {}) };
    }
    const server = await serve(routes);
    const texture = manifest.files.find((f) => f.name === 'texture.npz')!;
    mkdirSync(dirname(texture.dest), { recursive: true });
    writeFileSync(texture.dest, bodies.get('texture.npz')!.subarray(0, 5_000)); // cut off, as PHALP's own download leaves it

    const listed = await runCli(['models', 'pull', '--list', '--mirror', server.base], env);
    expect(listed.code, listed.stderr).toBe(0);
    for (const f of manifest.files) {
      expect(listed.stdout).toContain(`${server.base}${mirrored(f.url)}`);
      expect(listed.stdout).toContain(f.dest);
    }
    expect(server.requests).toEqual([]);

    const pulled = await runCli(['models', 'pull', '--mirror', server.base], env);
    const hashed = manifest.files.filter((f) => f.sha256Prefix || f.md5Prefix);
    expect(hashed.map((f) => f.name).sort()).toEqual(['model_final_2d9806.pkl', 'resnet50-19c8e357.pth']);
    expect(pulled.code, pulled.stdout).toBe(2); // the two whose published hashes a test server cannot match
    expect(pulled.stdout).toMatch(/FAILED resnet50-19c8e357\.pth: sha256 mismatch: expected a hash starting 19c8e357/);
    expect(pulled.stdout).toMatch(/FAILED model_final_2d9806\.pkl: md5 mismatch: expected a hash starting 2d9806/);
    for (const f of manifest.files.filter((e) => !hashed.includes(e))) {
      if (f.unpack) {
        for (const p of f.unpack.provides) expect(existsSync(p), p).toBe(true);
      } else {
        expect(readFileSync(f.dest).equals(bodies.get(f.name)!), f.name).toBe(true);
      }
      expect(existsSync(`${f.dest}.part`)).toBe(false);
    }
    const hmar = manifest.files.find((f) => f.name === 'hmar_v2_weights.pth')!;
    expect(server.seen(mirrored(hmar.url)).filter((r) => r.method === 'GET').map((r) => r.range)).toEqual([undefined, 'bytes=150000-']);
    expect(pulled.stdout).toContain(`texture.npz: ${texture.dest} is corrupt (size mismatch: the server announces 20000 bytes, the file has 5000)`);
    expect(pulled.stdout).toMatch(/still needed: 2 file\(s\)/);
    expect(pulled.stdout).toContain('smpl.is.tue.mpg.de');

    // The doctor checks the same list: every fetched file passes, the refused ones fail with URL and destination.
    const doctor = await runCli(['doctor'], env);
    const fileLines = doctor.stdout.split('\n').filter((l) => /^(ok {2}|FAIL) {2}phalp: file /.test(l));
    expect(fileLines).toHaveLength(manifest.files.length);
    const failed = fileLines.filter((l) => l.startsWith('FAIL')).map((l) => /phalp: file (\S+):/.exec(l)?.[1]);
    expect(failed).toEqual(['resnet50-19c8e357.pth', 'model_final_2d9806.pkl']);
    const resnet = hashed.find((f) => f.name.startsWith('resnet50'))!;
    expect(doctor.stdout).toContain(`fix: posepipe models pull --tracker phalp (or download ${resnet.url} to ${resnet.dest})`);

    // Run again: nothing fetched twice; what is in place is checked against the server's size (HEAD).
    const fetches = () => server.requests.filter((r) => r.method === 'GET' && !hashed.some((h) => r.path === mirrored(h.url))).length;
    const before = fetches();
    const again = await runCli(['models', 'pull', '--mirror', server.base], env);
    expect(again.stdout).toContain(`models for phalp: 0 fetched, ${manifest.files.length - 2} already there, 2 failed`);
    expect(fetches()).toBe(before);
  }, 120_000);
});
