/** What the benchmarks (and the long-output test) share: a free port, a percentile, a throwaway redis-server, a process's resident memory, route timings. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resident memory (bytes) of a pid, or 0 once it is gone (from /proc). */
export function residentBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** The p-th percentile (nearest rank) of `xs`; NaN for none. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
}

/** Debian's redis-server on a free loopback port, no persistence, files in `dir`. */
export async function startRedis(dir: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  await sleep(500);
  return { url: `redis://127.0.0.1:${port}`, process: child };
}

/** One route's response times. */
export interface RouteTimes {
  path: string;
  what: string;
  status: number;
  bytes: number;
  first: number;
  p50: number;
  p95: number;
  max: number;
  error?: string;
}

/**
 * Time each route of a running server: the first (cold) request, then `warmup` untimed and
 * `requests` timed, one at a time. A route that does not answer 200, or whose answer does not match
 * its pattern (so that a fallback page is not timed by mistake), is reported instead of timed.
 */
export async function timeRoutes(base: string, routes: [path: string, what: string, must?: RegExp][], opts: { requests: number; warmup: number }): Promise<RouteTimes[]> {
  const results: RouteTimes[] = [];
  for (const [path, what, must] of routes) {
    const url = new URL(path, base).href;
    const firstStart = performance.now();
    const first = await fetch(url);
    const body = Buffer.from(await first.arrayBuffer());
    const firstMs = performance.now() - firstStart;
    const text = () => body.toString('utf8');
    if (first.status !== 200 || (must && !must.test(text()))) {
      const error = first.status !== 200 ? text().slice(0, 160).replace(/\s+/g, ' ') : `the answer does not match ${must}`;
      results.push({ path, what, status: first.status === 200 ? 0 : first.status, bytes: body.length, first: firstMs, p50: NaN, p95: NaN, max: NaN, error });
      continue;
    }
    for (let i = 0; i < opts.warmup; i++) await (await fetch(url)).arrayBuffer();
    const times: number[] = [];
    let bytes = 0;
    let bad: string | undefined;
    for (let i = 0; i < opts.requests; i++) {
      const start = performance.now();
      const res = await fetch(url);
      const data = await res.arrayBuffer();
      times.push(performance.now() - start);
      bytes = data.byteLength;
      if (res.status !== 200) bad ??= `answered ${res.status} on request ${i + 1}`;
    }
    results.push({ path, what, status: bad ? 0 : 200, bytes, first: firstMs, p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), error: bad });
  }
  return results;
}

/** Print timeRoutes' results as a table; returns how many routes could not be timed. */
export function printRouteTimes(results: RouteTimes[]): number {
  const width = Math.max(...results.map((r) => r.path.length));
  console.log(`\n${'route'.padEnd(width)}  ${'first ms'.padStart(8)}  ${'p50 ms'.padStart(8)}  ${'p95 ms'.padStart(8)}  ${'max ms'.padStart(8)}  ${'bytes'.padStart(9)}  what`);
  for (const r of results) {
    if (r.error) {
      console.log(`${r.path.padEnd(width)}  !! NOT TIMED: ${r.status ? `answered ${r.status}` : 'failed'}: ${r.error}`);
      continue;
    }
    console.log(`${r.path.padEnd(width)}  ${r.first.toFixed(2).padStart(8)}  ${r.p50.toFixed(2).padStart(8)}  ${r.p95.toFixed(2).padStart(8)}  ${r.max.toFixed(2).padStart(8)}  ${String(r.bytes).padStart(9)}  ${r.what}`);
  }
  const failures = results.filter((r) => r.error).length;
  if (failures) console.log(`\n!! ${failures} of ${results.length} routes did not answer 200: their times are not shown`);
  return failures;
}
