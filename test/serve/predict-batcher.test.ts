/** The /predict dynamic batcher: who waits for whom, and for how long. */
import assert from 'node:assert/strict';
import { DynamicBatcher } from '../../serve/api/predict-batcher';

const PIXELS = 784;
/** A fake model with 2 classes that records the batch sizes it was called with. */
function fakeModel() {
  const calls: number[] = [];
  const run = async (images: Uint8Array) => {
    const n = images.length / PIXELS;
    calls.push(n);
    return Float32Array.from({ length: n * 2 }, (_, i) => images[Math.floor(i / 2) * PIXELS]! + (i % 2));
  };
  return { calls, run };
}
const image = (v: number) => new Uint8Array(PIXELS).fill(v);

describe('dynamic batcher', () => {
  it('runs a lone request at once, without waiting for the window', async () => {
    const m = fakeModel();
    const b = new DynamicBatcher(m.run, 2, 10_000, 64);
    const t0 = Date.now();
    assert.deepEqual([...(await b.announce().submit(image(7)))], [7, 8]);
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(m.calls, [1]);
  });

  it('waits for announced requests still decoding, then runs them as one batch, each getting its own row', async () => {
    const m = fakeModel();
    const b = new DynamicBatcher(m.run, 2, 10_000, 64);
    const [t1, t2, t3] = [b.announce(), b.announce(), b.announce()];
    const p1 = t1.submit(image(1));
    const p2 = t2.submit(image(2));
    assert.deepEqual(m.calls, [], 'the third is still coming');
    const p3 = t3.submit(image(3));
    assert.deepEqual(
      (await Promise.all([p1, p2, p3])).map((p) => p[0]),
      [1, 2, 3],
    );
    assert.deepEqual(m.calls, [3]);
  });

  it('a cancelled request (not an image) releases the ones waiting for it', async () => {
    const m = fakeModel();
    const b = new DynamicBatcher(m.run, 2, 10_000, 64);
    const [t1, t2] = [b.announce(), b.announce()];
    const p1 = t1.submit(image(1));
    t2.cancel();
    t2.cancel(); // idempotent
    assert.equal((await p1)[0], 1);
    assert.deepEqual(m.calls, [1]);
  });

  it('runs what it has when the window ends, and a full batch at once', async () => {
    const m = fakeModel();
    const b = new DynamicBatcher(m.run, 2, 20, 2);
    const slow = b.announce();
    await b.announce().submit(image(1)); // the window (20 ms) ends while `slow` is still decoding
    assert.deepEqual(m.calls, [1]);
    const [a, c] = [b.announce(), b.announce()];
    const both = Promise.all([a.submit(image(2)), c.submit(image(3))]);
    await both;
    assert.deepEqual(m.calls, [1, 2], 'MAX_BATCH_SIZE reached: no waiting for `slow`');
    slow.cancel();
  });

  it('with a window of 0 every request runs alone', async () => {
    const m = fakeModel();
    const b = new DynamicBatcher(m.run, 2, 0, 64);
    const [t1, t2] = [b.announce(), b.announce()];
    await Promise.all([t1.submit(image(1)), t2.submit(image(2))]);
    assert.deepEqual(m.calls, [1, 1]);
  });

  it('a failing model call rejects every request of its batch', async () => {
    const b = new DynamicBatcher(
      async () => {
        throw new Error('model broke');
      },
      2,
      10_000,
      64,
    );
    const [t1, t2] = [b.announce(), b.announce()];
    const results = await Promise.allSettled([t1.submit(image(1)), t2.submit(image(2))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });

  it('runs one model call at a time: images arriving meanwhile form the next batch, run as soon as the call ends', async () => {
    const calls: number[] = [];
    const finish: (() => void)[] = [];
    const run = (images: Uint8Array) => {
      const n = images.length / PIXELS;
      calls.push(n);
      return new Promise<Float32Array>((resolve) => finish.push(() => resolve(new Float32Array(n * 2))));
    };
    const b = new DynamicBatcher(run, 2, 10_000, 64);
    const first = b.announce().submit(image(1));
    assert.deepEqual(calls, [1], 'a lone request runs at once');
    const later = [b.announce(), b.announce(), b.announce()].map((t) => t.submit(image(2)));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, [1], 'no second call while the first runs');
    finish[0]!();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [1, 3], 'the three that arrived meanwhile ran together');
    finish[1]!();
    assert.equal((await Promise.all(later)).length, 3);
  });
});
