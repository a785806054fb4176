/** The served classifier on its own thread: the in-process classifier's answers, handed over without copies, and clear failures. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { PIXELS } from '../../pipeline/core/dataset';
import { K49Classifier } from '../../pipeline/core/inference';
import { ThreadedClassifier } from '../../serve/model/classifier';
import { ModelHolder } from '../../serve/model/holder';
import { realSample } from '../helpers/images';
import { TEST_MODEL } from '../helpers/service';

describe('inference thread (ThreadedClassifier)', function () {
  this.timeout(120000);
  let threaded: ThreadedClassifier;
  before(async () => {
    threaded = await ThreadedClassifier.start(TEST_MODEL, [32]);
  });
  after(() => threaded.dispose());

  it("gives the in-process classifier's probabilities for the same images, and its model record", async () => {
    const s = await realSample();
    const local = await K49Classifier.load(TEST_MODEL);
    try {
      for (const n of [1, 7, 32]) {
        const images = s.images.slice(100 * PIXELS, (100 + n) * PIXELS);
        const expected = await local.probabilities(images);
        const got = await threaded.probabilities(images.slice());
        assert.equal(got.length, expected.length);
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-6, `batch ${n}, value ${i}: ${got[i]} vs ${expected[i]}`);
      }
      assert.deepEqual(threaded.info, local.info);
    } finally {
      local.dispose();
    }
  });

  it('takes the images over without a copy; a view into a larger buffer is copied, leaving that buffer intact', async () => {
    const s = await realSample();
    const own = s.images.slice(0, 2 * PIXELS);
    await threaded.probabilities(own);
    assert.equal(own.byteLength, 0, 'the buffer was handed to the thread');
    const big = s.images.slice(0, 4 * PIXELS);
    const probs = await threaded.probabilities(big.subarray(PIXELS, 3 * PIXELS));
    assert.equal(probs.length, 2 * 49);
    assert.equal(big.byteLength, 4 * PIXELS);
  });

  it('answers concurrent calls each with its own rows', async () => {
    const s = await realSample();
    const one = (i: number) => threaded.probabilities(s.images.slice(i * PIXELS, (i + 1) * PIXELS));
    const together = await Promise.all([one(5), one(6), one(5)]);
    assert.deepEqual([...together[0]!], [...together[2]!]);
    assert.notDeepEqual([...together[0]!], [...together[1]!]);
  });

  it("refuses an artifact that cannot load with the loader's reason, and rejects calls once disposed", async () => {
    const broken = mkdtempSync(path.join(os.tmpdir(), 'k49-broken-'));
    writeFileSync(path.join(broken, 'train.json'), '{}');
    await assert.rejects(ThreadedClassifier.start(broken), (e: Error) => e.message.length > 0 && !/exited/.test(e.message));
    const short = await ThreadedClassifier.start(TEST_MODEL);
    short.dispose();
    await assert.rejects(short.probabilities(new Uint8Array(PIXELS)), /was disposed/);
    // The other models on the thread are untouched.
    assert.equal((await threaded.probabilities(new Uint8Array(PIXELS).fill(100))).length, 49);
  });

  it('a model whose thread dies is loaded afresh by its holder (on a new thread), which then serves again', async () => {
    const holder = new ModelHolder(TEST_MODEL, pino({ level: 'silent' }), () => undefined);
    await holder.reload();
    const first = holder.status().served!.classifier;
    // Simulates a crash of the thread (what dispose() never does).
    await (first as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    const deadline = Date.now() + 60000;
    while (holder.status().served?.classifier === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const again = holder.status().served!.classifier;
    assert.notEqual(again, first, 'a fresh classifier was swapped in');
    const probs = await holder.use(({ classifier }) => classifier.probabilities(new Uint8Array(PIXELS).fill(200)));
    assert.equal(probs.length, 49);
    holder.stop();
    again.dispose();
    // The killed thread took the suite's other model with it: this file's `after` disposes a dead model, which is harmless.
  });
});
