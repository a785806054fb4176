/**
 * `make bench PEER=1` when the replaced system cannot be started: the bench
 * says why and measures this service alone (bench/peer.ts, scripts/peer.sh).
 */
import assert from 'node:assert/strict';
import { predictRequest } from '../bench/load';
import { startPeer } from '../bench/peer';

describe('the replaced system beside the benchmark', () => {
  it('when it cannot be started, startPeer says why instead of failing the run', async function () {
    this.timeout(60000);
    const before = process.env.K49_PEER_DIR;
    process.env.K49_PEER_DIR = '/nonexistent/k49-fastapi';
    try {
      const peer = await startPeer(await predictRequest(), () => {});
      assert.equal(peer.url, null);
      assert.match((peer as { reason: string }).reason, /exited \(code 3\).*no replaced system at \/nonexistent\/k49-fastapi/);
    } finally {
      if (before === undefined) delete process.env.K49_PEER_DIR;
      else process.env.K49_PEER_DIR = before;
    }
  });
});
