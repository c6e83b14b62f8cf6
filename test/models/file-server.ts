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
}

/** A request the server saw. */
export interface SeenRequest {
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

/** Serve `routes` (path → file) with Range support, `redirects` (path → Location) with a 302; anything else is a 404. */
export async function startFileServer(routes: Record<string, Route>, redirects: Record<string, string> = {}): Promise<FileServer> {
  const requests: SeenRequest[] = [];
  const dropped = new Set<string>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push({ path, range: req.headers.range });
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
    const size = route.body.length;
    const asked = route.ignoreRange ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = asked ? Number(asked[1]) : 0;
    if (asked && start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const headers: Record<string, string> = { 'content-length': String(size - start), 'content-type': 'application/octet-stream' };
    if (asked) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${size - 1}/${size}` });
    else res.writeHead(200, headers);
    const rest = route.body.subarray(start);
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
