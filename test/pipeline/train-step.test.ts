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
import { strokeFilter } from '../../pipeline/train/augment-batch';
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
    const a = buildModel(tf, SMALL.model, 7), b = buildModel(tf, SMALL.model, 7);
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
      const a = buildModel(tf, cfg.model, 7), b = buildModel(tf, cfg.model, 7);
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

  it('refuses a layer it does not know, naming it', () => {
    const model = tf.sequential({ layers: [tf.layers.conv2dTranspose({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax' })] });
    assert.throws(() => planSteps(model), /Conv2DTranspose is not supported by the training step/);
  });

  it("does stroke-width jitter as TensorFlow's 2x2 'same' max-pool (dilation) and its erosion", () => {
    const rng = new Random('stroke');
    const img = Float32Array.from({ length: 784 }, () => (rng.chance(0.3) ? rng.float() : 0));
    const x = tf.tensor4d(img, [1, 28, 28, 1]);
    const dilated = new Float32Array(784), eroded = new Float32Array(784);
    strokeFilter(img, dilated, true);
    strokeFilter(img, eroded, false);
    assert.deepEqual(Array.from(dilated), Array.from(tf.maxPool(x, [2, 2], 1, 'same').dataSync()));
    assert.deepEqual(Array.from(eroded), Array.from(tf.neg(tf.maxPool(tf.neg(x) as TF.Tensor4D, [2, 2], 1, 'same')).dataSync()).map((v) => v + 0));
  });
});
