/**
 * `posepipe doctor` never downloads: with the keypoints backend and no weights in torch's cache,
 * the weights line fails naming `posepipe models pull`, the load is not tried, and no connection
 * leaves the process (every proxy variable points at a local listener that counts what reaches it).
 */
import { existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

describe('posepipe doctor', () => {
  it('with keypoints and no weights: a failed line naming posepipe models pull, no load, nothing fetched', async () => {
    const ws = workspace('doctor-keypoints');
    const torchHome = join(ws.root, 'torch');
    const reached: string[] = [];
    const sockets: Socket[] = [];
    const proxy = createServer((socket) => {
      sockets.push(socket);
      socket.once('data', (data) => reached.push(data.toString('latin1').split('\r\n')[0]!));
      socket.end();
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const r = await runCli(['doctor', '--tracker', 'keypoints'], cliEnv(ws, {
        TORCH_HOME: torchHome,
        POSEPIPE_KEYPOINTS_DEVICE: 'cpu',
        HTTPS_PROXY: url,
        https_proxy: url,
        HTTP_PROXY: url,
        http_proxy: url,
        ALL_PROXY: url,
        all_proxy: url,
        NO_PROXY: '',
        no_proxy: '',
      }));
      const weights = join(torchHome, 'hub', 'checkpoints', 'keypointrcnn_resnet50_fpn_coco-fc266e95.pth');
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout).toContain(`FAIL  keypoints: keypoints weights: missing: ${weights}\n      fix: posepipe models pull --tracker keypoints (or download https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth to ${weights}`);
      expect(r.stdout).toMatch(/^FAIL {2}keypoints: load keypoints: not tried: 1 model file\(s\) missing, .*never downloads\)\n {6}fix: posepipe models pull --tracker keypoints/m);
      expect(r.stdout).toMatch(/^2 check\(s\) failed$/m);
      expect(r.stdout + r.stderr).not.toMatch(/; downloading|Traceback/);
      expect(reached).toEqual([]);
      expect(sockets).toHaveLength(0);
      expect(existsSync(join(torchHome, 'hub', 'checkpoints'))).toBe(false);
    } finally {
      proxy.close();
    }
  }, 60_000);
});
