import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One file the test server serves, and how it misbehaves. */
export interface Route {
  body: Buffer;
  /** On the first request only: send this many bytes of the body, then close the connection. */
  dropAt?: number;
  /** On the first request only: send this many bytes of the body, then send nothing more. */
  stallAt?: number;
  /** Answer every request with the whole file (200), as servers without range support do. */
  ignoreRange?: boolean;
  /** Answer HEAD with 405, as S3 presigned URLs and some CDNs do. */
  refuseHead?: boolean;
  /** Content-Type of the answer (default application/octet-stream). */
  contentType?: string;
  /** The status to answer the Nth request (from 0) for this path with, instead of the file; undefined serves it. */
  status?: (n: number) => number | undefined;
}

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  range: string | undefined;
}

/** A real HTTP server on 127.0.0.1, port 0. */
export interface FileServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  base: string;
  requests: SeenRequest[];
  /** The requests for one path. */
  seen(path: string): SeenRequest[];
  close(): Promise<void>;
}

/** Serve `routes` (path → file) with Range support (`bytes=N-` and `bytes=N-M`) and HEAD, `redirects` (path → Location) with a 302; anything else is a 404. */
export async function startFileServer(routes: Record<string, Route>, redirects: Record<string, string> = {}): Promise<FileServer> {
  const requests: SeenRequest[] = [];
  const dropped = new Set<string>();
  const count = (path: string) => requests.filter((r) => r.path === path).length - 1;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push({ method: req.method ?? '', path, range: req.headers.range });
    const target = redirects[path];
    if (target !== undefined) {
      res.writeHead(302, { location: target }).end();
      return;
    }
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const status = route.status?.(count(path));
    if (status !== undefined) {
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
      return;
    }
    if (req.method === 'HEAD' && route.refuseHead) {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const size = route.body.length;
    const asked = route.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = asked ? Number(asked[1]) : 0;
    const end = asked?.[2] ? Math.min(Number(asked[2]), size - 1) : size - 1;
    if (asked && start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(end + 1 - start), 'content-type': route.contentType ?? 'application/octet-stream' };
    if (asked) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}` });
    else res.writeHead(200, headers);
    const rest = route.body.subarray(start, end + 1);
    // Node sends no body to a HEAD; the misbehaviours below are kept for the GET that follows.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (route.stallAt !== undefined && !dropped.has(path)) {
      dropped.add(path);
      res.write(rest.subarray(0, route.stallAt));
      return;
    }
    if (route.dropAt !== undefined && !dropped.has(path)) {
      dropped.add(path);
      // The write callback fires once the bytes are handed to the kernel; closing then sends a
      // FIN after them, so the client receives exactly dropAt bytes.
      res.write(rest.subarray(0, route.dropAt), () => res.socket?.destroy());
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    seen: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
