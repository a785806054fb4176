/**
 * What `make bench` needs besides this service: when the replaced system
 * (`PEER=1`) cannot be started, the bench says why and measures this service
 * alone (bench/peer.ts, scripts/peer.sh); without Chromium it stops at once,
 * saying how to install it, instead of after minutes of other measures.
 */
import assert from 'node:assert/strict';
import { browserMissing } from '../bench/browser';
import { predictRequest } from '../bench/load';
import { startPeer } from '../bench/peer';

describe("the benchmark's browser", () => {
  it('is found here (make test installs it); a missing one is named with the command that installs it', () => {
    assert.equal(browserMissing(), null);
    const missing = browserMissing('/nonexistent/chromium');
    assert.match(missing ?? '', /Chromium \(\/nonexistent\/chromium\), which is not installed: run `make setup-bench`/);
  });
});

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
