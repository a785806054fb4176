/**
 * The class prior corrected on unlabelled crops (pipeline/train/prior-correction.ts): the fitted bias
 * makes the mean posterior the target frequency, and folding the shift into the class layer's bias
 * gives the renormalised shifted probabilities.
 */
import assert from 'node:assert/strict';
import { loadTf } from '../../pipeline/core/backend';
import { NUM_CLASSES } from '../../pipeline/core/classes';
import { loadLabels } from '../../pipeline/core/dataset';
import { Random } from '../../pipeline/core/random';
import { classFrequency, fitPriorBias, priorShift, shiftClassBias } from '../../pipeline/train/prior-correction';
import { OFFICIAL_DIR } from '../helpers/paths';

/** Log-softmax rows of random logits over `C` classes, class 0 favoured by `lean`. */
function leaningLogProbs(n: number, C: number, lean: number, seed: string): Float64Array {
  const rng = new Random(seed);
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: C }, (_, c) => rng.uniform(0, 3) + (c === 0 ? lean : 0));
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    logits.forEach((v, c) => {
      out[i * C + c] = v - lse;
    });
  }
  return out;
}

function meanPosterior(logProbs: Float64Array, b: Float64Array): Float64Array {
  const C = b.length;
  const n = logProbs.length / C;
  const mean = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const e = Array.from(b, (v, c) => Math.exp(logProbs[i * C + c]! + v));
    const s = e.reduce((a, v) => a + v, 0);
    e.forEach((v, c) => {
      mean[c]! += v / s / n;
    });
  }
  return mean;
}

describe('class prior corrected on unlabelled crops', () => {
  it('fits a bias that makes the mean posterior the target frequency, pulling back the class the model leans to', () => {
    const C = 5;
    const logProbs = leaningLogProbs(400, C, 2, 'prior');
    const target = Float64Array.from([0.1, 0.3, 0.2, 0.25, 0.15]);
    assert.ok(meanPosterior(logProbs, new Float64Array(C))[0]! > 0.4, 'the fixture leans to class 0');
    const b = fitPriorBias(logProbs, target);
    const mean = meanPosterior(logProbs, b);
    for (let c = 0; c < C; c++) assert.ok(Math.abs(mean[c]! - target[c]!) < 1e-6, `class ${c}: ${mean[c]} against ${target[c]}`);
    assert.ok(b[0]! < Math.min(b[1]!, b[2]!, b[3]!, b[4]!), 'the favoured class gets the lowest bias');
  });

  it('applies alpha of the correction relative to the frequency (alpha 0: no shift)', () => {
    const f = classFrequency(Uint8Array.from({ length: 98 }, (_, i) => i % NUM_CLASSES));
    const probs = Float32Array.from(Array.from(leaningLogProbs(50, NUM_CLASSES, 1, 'alpha'), Math.exp));
    assert.deepEqual(Array.from(priorShift(probs, f, 0)), new Array(NUM_CLASSES).fill(0));
    const full = priorShift(probs, f, 1);
    const half = priorShift(probs, f, 0.5);
    for (let c = 0; c < NUM_CLASSES; c++) assert.ok(Math.abs(half[c]! - full[c]! / 2) < 1e-9);
  });

  it("takes K49's class frequency from its official training labels", async () => {
    const f = classFrequency(await loadLabels(OFFICIAL_DIR, 'train'));
    assert.ok(Math.abs(f.reduce((a, v) => a + v, 0) - 1) < 1e-9);
    assert.equal(Math.round(f[0]! * 232365), 6000, 'あ: 6,000 of 232,365 training images');
  });

  it("folds the shift into the class layer's bias: the probabilities are the shifted ones, renormalised", () => {
    const { tf } = loadTf();
    const model = tf.sequential();
    model.add(tf.layers.dense({ inputShape: [6], units: NUM_CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 5);
    const before = (model.predict(x) as ReturnType<typeof tf.tensor>).arraySync() as number[][];
    const shift = Float64Array.from({ length: NUM_CLASSES }, (_, c) => (c % 7) / 3 - 1);
    shiftClassBias(tf, model, shift);
    const after = (model.predict(x) as ReturnType<typeof tf.tensor>).arraySync() as number[][];
    before.forEach((row, i) => {
      const e = row.map((p, c) => p * Math.exp(shift[c]!));
      const s = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < NUM_CLASSES; c++) assert.ok(Math.abs(e[c]! / s - after[i]![c]!) < 1e-5, `image ${i} class ${c}`);
    });
    x.dispose();
    model.dispose();
  });
});
