/**
 * RELIABILITY.md "Names and the web": hostile file names in the inbox are processed as plain
 * names; nothing else happens (a canary in $HOME survives, nothing new appears), and the CLI and
 * the page show them escaped.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, waitFor, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

const NAMES = [
  `quote's "double".mp4`,
  '; rm -rf ~; .mp4',
  '$(touch pwned).mp4',
  '`touch pwned2`.mp4',
  '-rf --help.mp4',
  ' leading and trailing space .mp4',
  '~tilde.mp4',
  'new\nline.mp4',
  'bell\u0007and\u001b[31mred.mp4',
  'bidi\u202Egpj.mp4',
  '<script>alert(1)<\u2215script><img src=x onerror=alert(2)>.mp4',
  `${'x'.repeat(251)}.mp4`,
];

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('hostile file names', () => {
  it('processes every one as a plain name, runs nothing, and shows them escaped', async () => {
    ws = makeWorkspace('hostile');
    const home = join(ws.root, 'user-home');
    mkdirSync(home);
    writeFileSync(join(home, 'canary'), 'still here');
    // Distinct content for each name (one job per content): 1.0 s, 1.04 s, … of test pattern.
    NAMES.forEach((name, i) => {
      const r = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=25:duration=${(1 + i * 0.04).toFixed(2)}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'mp4', join(ws.inbox, name)]);
      expect(r.status, `making ${JSON.stringify(name)}`).toBe(0);
    });
    // And one whose name is not valid UTF-8 ('bad' 0xff 0xfe '.mp4'): processed by its real bytes,
    // shown with U+FFFD for the bytes that are not UTF-8.
    const LOSSY = 'bad\uFFFD\uFFFD.mp4';
    const lossyTmp = join(ws.root, 'lossy-source.mp4');
    const made = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=0.80', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'mp4', lossyTmp]);
    expect(made.status, 'making the invalid UTF-8 name').toBe(0);
    writeFileSync(Buffer.concat([Buffer.from(ws.inbox + '/'), Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]), Buffer.from('.mp4')]), readFileSync(lossyTmp));
    rmSync(lossyTmp);
    // And one that is not a video: its error message carries the name, escape sequence and all.
    const BAD = 'clear\u001b[2Jscreen\u202E.mp4';
    writeFileSync(join(ws.inbox, BAD), 'not a video\n');
    const env = cliEnv(ws, { HOME: home, POSEPIPE_TRACKER: 'test-fixture' });
    const app = spawnCli(['start'], env);
    try {
      const port = Number(await waitFor('the status page', () => /status page at http:\/\/127\.0\.0\.1:(\d+)\//.exec(app.output())?.[1]));
      const status = await waitFor('every job to finish', async () => {
        const s = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { jobs: { id: number; name: string; state: string; outputPath: string }[] };
        const settled = s.jobs.length === NAMES.length + 2 && s.jobs.every((j) => j.state === (j.name === BAD ? 'failed' : 'done'));
        return settled ? s : undefined;
      }, 180_000, 500);
      expect(status.jobs.map((j) => j.name).sort()).toEqual([...NAMES, LOSSY, BAD].sort());
      for (const j of status.jobs) if (j.name !== BAD) expect(readValidOutput(j.outputPath).source.name).toBe(j.name);
      expect(readdirSync(ws.outbox)).toHaveLength(NAMES.length + 1);
      expect(status.jobs.find((j) => j.name === LOSSY)!.outputPath).toBe(join(ws.outbox, 'bad__.json'));

      const table = (await runCli(['status'], env)).stdout;
      expect(table).not.toContain('\u001b');
      expect(table).not.toContain('\u202E');
      expect(table).toContain(JSON.stringify('new\nline.mp4'));
      expect(table).toContain('Cannot probe "clear\\u001b[2Jscreen\\u202e.mp4"');
      const detail = (await runCli(['status', String(status.jobs.find((j) => j.name === BAD)!.id)], env)).stdout;
      expect(detail).not.toMatch(/[\u001b\u202e]/);
      const page = await get(port, '/');
      expect(page).not.toContain('<script>alert');
      expect(page).not.toContain('<img src=x');
      expect(page).toContain('&#60;script&#62;alert(1)');
    } finally {
      app.child.kill('SIGTERM');
      await app.done;
    }
    // Nothing ran: the canary is intact and nothing new appeared in $HOME, the inbox or here.
    expect(readFileSync(join(home, 'canary'), 'utf8')).toBe('still here');
    expect(readdirSync(home)).toEqual(['canary']);
    // readdirSync decodes the invalid name lossily: it comes back as LOSSY.
    expect(readdirSync(ws.inbox).sort()).toEqual([...NAMES, LOSSY, BAD].sort());
    for (const dir of [home, ws.inbox, ws.root, process.cwd()]) for (const p of ['pwned', 'pwned2']) expect(readdirSync(dir)).not.toContain(p);
  });
});
