/**
 * A burst of large batch uploads (12 at once, 86 MB each) against the
 * default MAX_RECEIVING_BYTES: at most the limit is received at once, the
 * rest is deferred with 503 and Retry-After, every upload is taken once
 * retried, and the API's memory is back within 15 % of its start a minute
 * later.
 */
import assert from 'node:assert/strict';
import { multipartBody } from '../../bench/load';
import { freePort, metricValue, residentMb, scrapeMetrics, TestService } from '../helpers/service';

const UPLOADS = 12;
const LIMIT = 256 * 1024 * 1024; // MAX_RECEIVING_BYTES's default

describe('a burst of large uploads', function () {
  this.timeout(300000);
  let svc: TestService;
  before(async () => {
    svc = new TestService(await freePort(), { LOG_LEVEL: 'warn' });
    await svc.startApi();
  });
  after(async () => svc.stopAll());

  it(`${UPLOADS} x 86 MB at once: at most MAX_RECEIVING_BYTES received at a time, the rest deferred with 503 + Retry-After, none lost once retried, memory back within 15 % a minute later`, async () => {
    const body = multipartBody(
      'files',
      Array.from({ length: 1000 }, (_, i) => ({ name: `${i}.png`, bytes: Buffer.alloc(86 * 1024, i % 251) })),
    );
    const send = () => fetch(`${svc.url}/batch_predict`, { method: 'POST', headers: { 'content-type': body.contentType }, body: body.body });
    // A service in use: one upload before the measured start.
    assert.equal((await send()).status, 202);
    await new Promise((r) => setTimeout(r, 3000));
    const pid = svc.api!.child.pid!;
    const start = residentMb(pid);
    let peakReceiving = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakReceiving = Math.max(peakReceiving, metricValue(await scrapeMetrics(svc.url), 'k49_receiving_bytes'));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let deferred = 0;
    const accepted = await Promise.all(
      Array.from({ length: UPLOADS }, async () => {
        for (;;) {
          const res = await send();
          const answer = (await res.json()) as { task_id?: string };
          if (res.status === 202) return answer.task_id!;
          assert.equal(res.status, 503);
          deferred++;
          await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('Retry-After'))));
        }
      }),
    );
    sampling = false;
    await sampler;
    assert.ok(deferred > 0, 'some uploads were deferred');
    assert.ok(peakReceiving <= LIMIT, `at most the limit received at once: ${peakReceiving} bytes`);
    for (const id of accepted) {
      const task = (await (await fetch(`${svc.url}/tasks/${id}`)).json()) as { progress: { total: number } };
      assert.equal(task.progress.total, 1000, 'every file of every upload stored');
    }
    await new Promise((r) => setTimeout(r, 60000));
    const end = residentMb(pid);
    assert.ok(end <= 1.15 * start, `resident memory ${start.toFixed(0)} MB at the start, ${end.toFixed(0)} MB a minute after the burst`);
  });
});
