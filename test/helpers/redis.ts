/**
 * A real redis-server per test (Debian's package): a free loopback port, its files in the test's
 * folder, no persistence; stopped after each test. Restarting it on the same port gives an empty
 * Redis, as after a crash without persistence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A running redis-server. */
export interface TestRedis {
  url: string;
  port: number;
  /** Stop it (SIGKILL: no goodbye to its clients) and wait for its exit. */
  kill(): Promise<void>;
  /** Start it again on the same port, empty. */
  restart(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function launch(port: number, dir: string, extra: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out}`)), 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run redis-server (apt-get install redis-server): ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited ${code} on port ${port}: ${out}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

/** For a test file: a maker of Redis servers, all stopped after each test; `args` are more redis-server arguments (e.g. --requirepass, --user). */
export function redisPerTest(): (dir: string, args?: string[]) => Promise<TestRedis> {
  const running = new Set<ChildProcess>();
  afterEach(async () => {
    await Promise.all([...running].map((c) => stop(c)));
    running.clear();
  });
  const stop = (c: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  return async (dir, args = []) => {
    const data = join(dir, 'redis');
    mkdirSync(data, { recursive: true });
    const port = await freePort();
    let child = await launch(port, data, args);
    running.add(child);
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      async kill() {
        await stop(child);
        running.delete(child);
      },
      async restart() {
        child = await launch(port, data, args);
        running.add(child);
      },
    };
  };
}
