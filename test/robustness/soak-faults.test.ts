/**
 * The fault soak, two minutes of it (`make soak` runs it for as long as asked;
 * the README gives the 30-minute figures): steady /predict and batch traffic
 * while the worker is killed (SIGKILL) every 30 s and the API restarted once.
 * Nothing accepted may be lost, duplicated, wrong or out of order, and no
 * error may be unexpected (refusals while the API is down are retried).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { runSoak, soakClean } from '../../bench/soak';
import { tempDir } from '../helpers/paths';

describe('soak with faults (2 minutes)', function () {
  this.timeout(600_000);

  it('the worker killed every 30 s and the API restarted under load: every accepted image answered once, in order, right', async () => {
    const r = await runSoak(
      { duration: 120, rate: '40', batchEverySeconds: 5, killWorkerEvery: 30, restartApiEvery: 70, out: path.join(tempDir('k49-soak-'), 'soak.json') },
      () => {},
    );
    assert.ok(r.faults.worker_kills >= 3, `worker kills: ${r.faults.worker_kills}`);
    assert.equal(r.faults.api_restarts, 1);
    assert.ok(r.batches.images >= 2000, `batch images: ${r.batches.images}`);
    assert.ok(soakClean(r), JSON.stringify({ predict: r.predict, batches: r.batches, errors: r.errors }));
    assert.equal(r.predict.answered, r.predict.sent);
    assert.equal(r.batches.answered, r.batches.images);
  });
});
