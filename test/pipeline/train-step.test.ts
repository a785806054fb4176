/**
 * The training step (pipeline/train/step.ts): its native kernels compute the
 * same maths as the tfjs-composed ops and as tfjs-layers' trainOnBatch, which
 * it replaced, for both architectures; the JS stroke-width augmentation is
 * TensorFlow's 2x2 grey dilation and erosion.
 */
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../../pipeline/core/backend';
import { NUM_CLASSES } from '../../pipeline/core/classes';
import { Random } from '../../pipeline/core/random';
import { augmentBatch, strokeFilter } from '../../pipeline/train/augment';
import { BASELINE_TRAIN, DEFAULT_TRAIN, mergeTrainConfig, type TrainConfig } from '../../pipeline/train/config';
import { buildModel } from '../../pipeline/train/model';
import { composedOps, nativeOps, planSteps, TrainingStep } from '../../pipeline/train/step';

const { tf } = loadTf();
const SMALL = mergeTrainConfig(DEFAULT_TRAIN, { model: { widths: [8, 16, 16], denseUnits: 32 } });

function batch(n = 32) {
  const x = tf.randomUniform([n, 28, 28, 1], 0, 1, 'float32', 3) as TF.Tensor4D;
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % NUM_CLASSES);
  return { x, labels };
}

/** Largest difference between two models' weights, relative to the largest weight of each tensor. */
function weightDifference(a: TF.LayersModel, b: TF.LayersModel): number {
  const wb = b.getWeights();
  return Math.max(...a.getWeights().map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, wb[i]!))).dataSync()[0]! / (tf.max(tf.abs(w)).dataSync()[0]! + 1e-3))));
}

describe('training step', () => {
  it('native kernels (batch norm + ReLU, softmax cross-entropy) give the tfjs-composed result', () => {
    const { x, labels } = batch();
    const a = buildModel(tf, SMALL.model, 7),
      b = buildModel(tf, SMALL.model, 7);
    const native = new TrainingStep(tf, a, tf.train.sgd(0.1), 0.1, nativeOps(tf));
    const composed = new TrainingStep(tf, b, tf.train.sgd(0.1), 0.1, composedOps(tf));
    for (let k = 0; k < 3; k++) {
      const [ra, rb] = [native.run(x, labels, k), composed.run(x, labels, k)];
      assert.ok(Math.abs(ra.loss - rb.loss) < 1e-4, `step ${k}: loss ${ra.loss} vs ${rb.loss}`);
      assert.equal(ra.accuracy, rb.accuracy);
    }
    assert.ok(weightDifference(a, b) < 1e-4, `weights differ by ${weightDifference(a, b)}`);
  });

  for (const [name, cfg] of [
    ['k49net', mergeTrainConfig(SMALL, { model: { dropout: 0 } })],
    ['baseline', BASELINE_TRAIN],
  ] as [string, TrainConfig][]) {
    it(`trains ${name} as tfjs-layers' trainOnBatch does (loss, weights, batch-norm statistics)`, async () => {
      const { x, labels } = batch();
      const a = buildModel(tf, cfg.model, 7),
        b = buildModel(tf, cfg.model, 7);
      const step = new TrainingStep(tf, a, tf.train.sgd(0.05), cfg.labelSmoothing);
      b.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const smoothed = tf.add(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), NUM_CLASSES).toFloat(), 1 - cfg.labelSmoothing), cfg.labelSmoothing / NUM_CLASSES);
      for (let k = 0; k < 3; k++) {
        const ours = step.run(x, labels, k);
        const [loss, accuracy] = (await b.trainOnBatch(x, smoothed)) as number[];
        assert.ok(Math.abs(ours.loss - loss!) < 1e-3, `step ${k}: loss ${ours.loss} vs ${loss}`);
        assert.equal(ours.accuracy, accuracy);
      }
      assert.ok(weightDifference(a, b) < 2e-3, `weights differ by ${weightDifference(a, b)}`);
    });
  }

  it('source-class loss: all 49 candidates is the plain loss; with 10, the other classes get no gradient and the smoothing stays on the 10', () => {
    const { x, labels } = batch();
    const [a, b, c] = [7, 7, 7].map((seed) => buildModel(tf, SMALL.model, seed));
    const plain = new TrainingStep(tf, a!, tf.train.sgd(0.1), 0.1);
    const allCandidates = new TrainingStep(tf, b!, tf.train.sgd(0.1), 0.1);
    const ra = plain.run(x, labels, 0);
    const rb = allCandidates.run(x, labels, 0, { rows: new Float32Array(labels.length * NUM_CLASSES).fill(1), offset: 1e4 });
    assert.ok(Math.abs(ra.loss - rb.loss) < 1e-6, `loss ${ra.loss} vs ${rb.loss}`);
    assert.ok(weightDifference(a!, b!) < 1e-6);

    // Ten candidate classes, each image's label among them.
    const ten = Array.from({ length: 10 }, (_, k) => k * 4);
    const tenLabels = Int32Array.from(labels, (_, i) => ten[i % 10]!);
    const candidates = new Float32Array(labels.length * NUM_CLASSES);
    for (let i = 0; i < labels.length; i++) for (const k of ten) candidates[i * NUM_CLASSES + k] = 1;
    const outputBias = () => c!.layers.at(-1)!.getWeights()[1]!.dataSync().slice();
    const before = outputBias();
    new TrainingStep(tf, c!, tf.train.sgd(0.1), 0.1).run(x, tenLabels, 0, { rows: candidates, offset: 1e4 });
    const after = outputBias();
    for (let k = 0; k < NUM_CLASSES; k++) {
      if (ten.includes(k)) assert.notEqual(after[k], before[k], `candidate class ${k} learned nothing`);
      else assert.equal(after[k], before[k], `class ${k} is no candidate, yet its logit moved`);
    }
    // The candidates' bias gradients sum to zero: a softmax over them is blind to their common level.
    const moved = ten.reduce((sum, k) => sum + (after[k]! - before[k]!), 0);
    assert.ok(Math.abs(moved) < 1e-6, `the ten candidates' biases moved together by ${moved}`);
  });

  it('source-class loss with a finite offset: the other classes still learn, less than under the plain loss', () => {
    const { x, labels } = batch();
    const ten = Array.from({ length: 10 }, (_, k) => k * 4);
    const tenLabels = Int32Array.from(labels, (_, i) => ten[i % 10]!);
    const rows = new Float32Array(labels.length * NUM_CLASSES);
    for (let i = 0; i < labels.length; i++) for (const k of ten) rows[i * NUM_CLASSES + k] = 1;
    const others = Array.from({ length: NUM_CLASSES }, (_, k) => k).filter((k) => !ten.includes(k));
    const otherBiasesMoved = (offset: number | null) => {
      const model = buildModel(tf, SMALL.model, 7);
      const bias = () => model.layers.at(-1)!.getWeights()[1]!.dataSync().slice();
      const before = bias();
      new TrainingStep(tf, model, tf.train.sgd(0.1), 0.1).run(x, tenLabels, 0, offset === null ? undefined : { rows, offset });
      const after = bias();
      return others.reduce((sum, k) => sum + Math.abs(after[k]! - before[k]!), 0);
    };
    const [plain, offset3, excluded] = [otherBiasesMoved(null), otherBiasesMoved(3), otherBiasesMoved(1e4)];
    assert.ok(excluded === 0 && offset3 > 0 && offset3 < plain / 2, `other classes' bias change: plain ${plain}, offset 3 ${offset3}, offset 1e4 ${excluded}`);
  });

  it('levels stretch: a soft grey stroke becomes crisp full-intensity ink, the background stays black', () => {
    // A blurred stroke: a horizontal band whose brightness peaks at 0.6.
    const img = Float32Array.from({ length: 784 }, (_, i) => 0.6 * Math.exp(-(((Math.floor(i / 28) - 14) / 2.5) ** 2)));
    const cfg = { ...DEFAULT_TRAIN.augment, rotationDeg: 0, scale: [1, 1] as [number, number], shear: 0, translatePx: 0, strokeProb: 0, eraseProb: 0 };
    const grey = (a: Float32Array) => a.filter((v) => v > 0.05 && v < 0.95).length;
    for (const seed of ['a', 'b', 'c']) {
      const plain = augmentBatch(tf, img, new Random(seed), { ...cfg, levelsProb: 0 });
      const levelled = augmentBatch(tf, img, new Random(seed), { ...cfg, levelsProb: 1 });
      const [p, l] = [plain.dataSync() as Float32Array, levelled.dataSync() as Float32Array];
      assert.ok(Math.max(...l) === 1 && Math.max(...p) < 0.61, `peak ${Math.max(...p)} -> ${Math.max(...l)}`);
      assert.ok(grey(l) < 0.75 * grey(p), `grey pixels ${grey(p)} -> ${grey(l)}`);
      assert.equal(l[0], 0);
      tf.dispose([plain, levelled]);
    }
  });

  it('refuses a layer it does not know, naming it', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2dTranspose({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax' }),
      ],
    });
    assert.throws(() => planSteps(model), /Conv2DTranspose is not supported by the training step/);
  });

  it("does stroke-width jitter as TensorFlow's 2x2 'same' max-pool (dilation) and its erosion", () => {
    const rng = new Random('stroke');
    const img = Float32Array.from({ length: 784 }, () => (rng.chance(0.3) ? rng.float() : 0));
    const x = tf.tensor4d(img, [1, 28, 28, 1]);
    const dilated = new Float32Array(784),
      eroded = new Float32Array(784);
    strokeFilter(img, dilated, true);
    strokeFilter(img, eroded, false);
    assert.deepEqual(Array.from(dilated), Array.from(tf.maxPool(x, [2, 2], 1, 'same').dataSync()));
    assert.deepEqual(
      Array.from(eroded),
      Array.from(tf.neg(tf.maxPool(tf.neg(x) as TF.Tensor4D, [2, 2], 1, 'same')).dataSync()).map((v) => v + 0),
    );
  });
});
