/**
 * A coordinator serving https from a self-signed certificate made here with openssl, a worker that
 * trusts it through --ca, and workers that do not: real processes, a real Redis, real TLS.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { QUEUE_NAME, redisConnection } from '../../src/scheduler/index.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, attemptsOf, BASE, localReference, outputOf, pageUrl, TOKEN } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const spawnApp = appsPerTest();

/** A self-signed certificate for localhost and 127.0.0.1, valid two days: its cert and key files. */
function selfSigned(dir: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { cert, key };
}

/** GET over https trusting `ca`: the status code. */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { ca: readFileSync(ca) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .once('error', reject)
      .end();
  });
}

describe('https between coordinator and workers', () => {
  it('a worker with --ca tracks a job from an https coordinator, byte-identical to a local run; one without --ca, or with another CA, refuses the certificate and takes no chunk', async () => {
    const expected = await localReference(workspace('tls-reference'));
    const ws = workspace('tls');
    const tls = selfSigned(join(ws.root, 'tls'));
    const stranger = selfSigned(join(ws.root, 'other'));
    const redis = await redisFor(ws.root);
    const coordinator = spawnApp(['start'], cliEnv(ws, { ...BASE, POSEPIPE_WORKERS: '0', POSEPIPE_REDIS_URL: redis.url, POSEPIPE_WORKER_TOKEN: TOKEN, POSEPIPE_TLS_CERT: tls.cert, POSEPIPE_TLS_KEY: tls.key }));
    const url = await pageUrl(coordinator, 'https');
    expect(coordinator.output()).toContain(`they reach this posepipe at ${url}/`);
    // The page itself is served over https, verified against the same certificate.
    expect(await httpsStatus(`${url}/metrics`, tls.cert)).toBe(200);
    copyFileSync(fixture('small.mp4'), join(ws.inbox, 'small.mp4'));
    const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
    try {
      await waitFor('the chunks to be offered', async () => (((await queue.getJobCounts('wait')).wait ?? 0) > 0 ? true : undefined), 60_000, 100);

      const workerArgs = ['worker', '--coordinator', url, '--redis', redis.url];
      const workerEnv = (label: string) => cliEnv(workspace(label), { ...BASE, POSEPIPE_WORKERS: '1', POSEPIPE_WORKER_TOKEN: TOKEN });
      const untrusting = await runCli(workerArgs, workerEnv('tls-no-ca'));
      expect(untrusting.code, untrusting.stdout + untrusting.stderr).toBe(2);
      expect(untrusting.stderr).toContain("the coordinator's certificate is not trusted: pass --ca FILE");
      expect(untrusting.stdout).not.toContain(' on slot ');
      const mistrusting = await runCli([...workerArgs, '--ca', stranger.cert], workerEnv('tls-other-ca'));
      expect(mistrusting.code, mistrusting.stdout + mistrusting.stderr).toBe(2);
      expect(mistrusting.stderr).toContain(`is not signed by --ca ${stranger.cert}`);
      // Neither took a chunk: no attempt started, every offer still waits.
      expect(attemptsOf(ws)).toEqual([]);

      const trusting = spawnApp([...workerArgs, '--ca', tls.cert], workerEnv('tls-ca'));
      expect((await outputOf(ws)).equals(expected)).toBe(true);
      expect(trusting.output()).toContain(' on slot 1');
      const done = attemptsOf(ws).filter((a) => a.outcome === 'done').map((a) => a.first_frame);
      expect(done).toHaveLength(6);
      expect(new Set(done).size).toBe(6);
    } finally {
      await queue.close();
    }
  }, 180_000);

  it('refuses unreadable, swapped or mismatched PEM files at start, and a --ca that is not a certificate, naming the key and the file (exit 2)', async () => {
    const ws = workspace('tls-bad');
    const a = selfSigned(join(ws.root, 'a'));
    const b = selfSigned(join(ws.root, 'b'));
    const start = (cert: string, key: string) => runCli(['start'], cliEnv(ws, { POSEPIPE_TLS_CERT: cert, POSEPIPE_TLS_KEY: key }));
    const cases: [string, string, string][] = [
      [join(ws.root, 'missing.pem'), a.key, `Invalid tlsCert (from POSEPIPE_TLS_CERT): cannot read ${join(ws.root, 'missing.pem')}: ENOENT`],
      [a.key, a.key, `Invalid tlsCert (from POSEPIPE_TLS_CERT): ${a.key} is not a PEM certificate`],
      [a.cert, a.cert, `Invalid tlsKey (from POSEPIPE_TLS_KEY): ${a.cert} is not a PEM private key`],
      [a.cert, b.key, `Invalid tlsKey (from POSEPIPE_TLS_KEY): ${b.key} is not the private key of the certificate ${a.cert} (tlsCert)`],
    ];
    for (const [cert, key, message] of cases) {
      const r = await start(cert, key);
      expect({ code: r.code, stderr: r.stderr }, message).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
    const worker = await runCli(['worker', '--coordinator', 'https://127.0.0.1:1/', '--redis', 'redis://127.0.0.1:1', '--ca', a.key], cliEnv(ws, BASE));
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain(`Invalid ca (from --ca): ${a.key} is not a PEM certificate`);
  }, 60_000);
});
