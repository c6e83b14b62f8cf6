import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main, parseArgs } from '../../src/cli.ts';
import { ManifestError, mirrorUrl, parseManifest, parseMirror, readManifest } from '../../src/models/index.ts';
import { TEST_PYTHON } from '../helpers/cli.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const good = {
  backend: 'phalp',
  files: [
    { name: 'hmar_v2_weights.pth', url: 'https://host/path/hmar_v2_weights.pth', dest: '/abs/hmar_v2_weights.pth', size: 123, sha256Prefix: '19C8E357' },
    { name: 'data.tar.gz', url: 'https://host/data.tar.gz', dest: '/abs/data.tar.gz', unpack: { into: '/abs/data', provides: ['/abs/data/a/b.ckpt'] } },
  ],
  manual: [{ name: 'SMPL_NEUTRAL.pkl', dest: '/abs/SMPL_NEUTRAL.pkl', how: 'download it and copy it here' }],
};
const withFile = (change: Record<string, unknown>) => JSON.stringify({ ...good, files: [{ ...good.files[0], ...change }] });

describe('the models manifest', () => {
  it('parses the worker\'s line into a frozen manifest, hex in lower case', () => {
    const m = parseManifest(JSON.stringify(good));
    expect(m.files[0]).toEqual({ ...good.files[0], sha256Prefix: '19c8e357' });
    expect(m.files[1]!.unpack).toEqual(good.files[1]!.unpack);
    expect(m.manual).toEqual(good.manual);
    expect(Object.isFrozen(m) && Object.isFrozen(m.files[0])).toBe(true);
  });

  it('parses alternates and md5Prefix (hex in lower case); both stay absent when the worker leaves them out', () => {
    const line = withFile({ alternates: ['https://mirror.example.net/x.pth', 'http://other/x.pth'], md5Prefix: '2D9806' });
    expect(parseManifest(line).files[0]).toMatchObject({ alternates: ['https://mirror.example.net/x.pth', 'http://other/x.pth'], md5Prefix: '2d9806' });
    expect(Object.isFrozen(parseManifest(line).files[0]!.alternates)).toBe(true);
    expect(Object.keys(parseManifest(JSON.stringify(good)).files[0]!)).not.toContain('alternates');
  });

  it('refuses a bad field, naming it and its value', () => {
    const cases: [string, string][] = [
      [withFile({ sha256prefix: 'ab' }), 'files[0].sha256prefix is not a known key'],
      [withFile({ dest: 'relative/x.pth' }), 'files[0].dest must be an absolute path, got "relative/x.pth"'],
      [withFile({ url: 'file:///etc/passwd' }), 'files[0].url must be an http:// or https:// URL'],
      [withFile({ size: -1 }), 'files[0].size must be a whole number of bytes, got -1'],
      [withFile({ sha256: 'abc' }), 'files[0].sha256 must be hex digits'],
      [withFile({ md5Prefix: '2d9806.pkl' }), 'files[0].md5Prefix must be hex digits'],
      [withFile({ md5prefix: '2d9806' }), 'files[0].md5prefix is not a known key'],
      [withFile({ alternates: 'https://host/x' }), 'files[0].alternates must be an array'],
      [withFile({ alternates: ['https://ok/x', 'ftp://host/x'] }), 'files[0].alternates[1] must be an http:// or https:// URL'],
      [withFile({ alternates: [good.files[0]!.url] }), 'files[0].alternates[0] repeats an earlier URL of this file'],
      [withFile({ unpack: { into: '/abs', provides: [] } }), 'files[0].unpack.provides must name at least one file'],
      [JSON.stringify({ ...good, files: [good.files[0], good.files[0]] }), 'files[1].dest is the destination of an earlier entry too'],
      [JSON.stringify({ backend: 'phalp', files: [] }), 'manual must be an array'],
      ['Traceback (most recent call last):', 'the worker\'s output is not JSON'],
    ];
    for (const [line, message] of cases) expect(() => parseManifest(line), message).toThrow(new RegExp(`^models manifest: ${message.replace(/[[\].()*+?^$|\\]/g, '\\$&')}`));
  });

  it('maps URLs onto a mirror as MIRROR/HOST/PATH and refuses a mirror that is not http(s)', () => {
    expect(mirrorUrl('https://dl.fbaipublicfiles.com/a/b.pkl?x=1', 'http://127.0.0.1:8080/cache/')).toBe('http://127.0.0.1:8080/cache/dl.fbaipublicfiles.com/a/b.pkl?x=1');
    expect(mirrorUrl('https://host:8443/p', undefined)).toBe('https://host:8443/p');
    expect(parseMirror('ftp://mirror')).toBeUndefined();
    expect(parseMirror('not a url')).toBeUndefined();
    expect(parseMirror('https://mirror.local//')).toBe('https://mirror.local');
  });

  it('reads the manifest from the worker, and reports the last stderr line when the worker fails', async () => {
    const ws = workspace('manifest');
    const script = join(ws.root, 'worker.py');
    writeFileSync(script, `import sys\nassert sys.argv[1:] == ["--models", "--backend", "phalp"], sys.argv\nprint("loading")\nprint(${JSON.stringify(JSON.stringify(good))})\n`);
    expect((await readManifest({ python: TEST_PYTHON, backend: 'phalp', script })).files).toHaveLength(2);
    writeFileSync(script, 'import sys\nprint("importing torch", file=sys.stderr)\nprint("ModuleNotFoundError: No module named \'torch\'", file=sys.stderr)\nsys.exit(1)\n');
    const failure = readManifest({ python: TEST_PYTHON, backend: 'phalp', script });
    await expect(failure).rejects.toThrow(ManifestError);
    await expect(failure).rejects.toThrow(/--models --backend phalp exited 1 without a manifest: ModuleNotFoundError: No module named 'torch'$/);
  });

  it('parses `models pull` with --list, --mirror and --tracker; refuses them elsewhere', async () => {
    const args = parseArgs(['models', 'pull', '--tracker', 'phalp', '--list', '--mirror=http://127.0.0.1:9/']);
    expect([args.positional, args.flags, [...args.switches], args.mirror]).toEqual([['pull'], { tracker: 'phalp' }, ['--list'], 'http://127.0.0.1:9/']);
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((s: string) => void errors.push(s));
    try {
      expect(await main(['models', 'fetch'])).toBe(2);
      expect(await main(['models', 'pull', '--mirror', 'ftp://x'])).toBe(2);
      expect(await main(['status', '--list'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(errors.map((e) => e.split('\n')[0])).toEqual([
      'posepipe: posepipe models takes one subcommand: pull; posepipe --help lists the commands and options',
      'posepipe: --mirror needs an http:// or https:// URL, got "ftp://x"; posepipe --help lists the commands and options',
      'posepipe: --list and --mirror belong to posepipe models pull; posepipe --help lists the commands and options',
    ]);
  });
});
