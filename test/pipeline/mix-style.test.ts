/**
 * MixStyle (pipeline/train/mix-style.ts): the blend of feature statistics,
 * the partners it picks, the batches it leaves alone, the Beta draw behind
 * it, and a training step that mixes.
 */
import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../../pipeline/core/backend';
import { NUM_CLASSES } from '../../pipeline/core/classes';
import { Random } from '../../pipeline/core/random';
import { DEFAULT_TRAIN, mergeTrainConfig } from '../../pipeline/train/config';
import { mixStyle, planStyleMix, stylePartners } from '../../pipeline/train/mix-style';
import { buildModel } from '../../pipeline/train/model';
import { TrainingStep } from '../../pipeline/train/step';

const { tf } = loadTf();
const features = () => tf.randomNormal([6, 5, 5, 3], 1, 2, 'float32', 1) as TF.Tensor4D;
const channelMoments = (t: TF.Tensor4D, image: number) => {
  const { mean, variance } = tf.moments(tf.slice(t, [image], [1]), [0, 1, 2]);
  return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
};
const close = (a: number[][], b: number[][], tolerance: number) => a.every((row, i) => row.every((v, j) => Math.abs(v - b[i]![j]!) < tolerance));

describe('MixStyle', () => {
  it("keeps an image that is its own partner; with lambda 0 an image takes its partner's channel means and deviations, its own layout", () => {
    const h = features();
    const self = mixStyle(tf, h, { partners: Int32Array.from([0, 1, 2, 3, 4, 5]), lambdas: new Float32Array(6).fill(0.3) });
    assert.ok(tf.max(tf.abs(tf.sub(self, h))).dataSync()[0]! < 1e-5);
    const swapped = mixStyle(tf, h, { partners: Int32Array.from([1, 0, 2, 3, 4, 5]), lambdas: new Float32Array(6).fill(0) });
    assert.ok(close(channelMoments(swapped, 0), channelMoments(h, 1), 1e-3), 'image 0 should carry image 1\'s statistics');
    // The layout is image 0's: standardised per channel, the two are the same.
    const standardise = (t: TF.Tensor4D) => {
      const x = tf.slice(t, [0], [1]);
      const { mean, variance } = tf.moments(x, [1, 2], true);
      return tf.div(tf.sub(x, mean), tf.sqrt(variance));
    };
    assert.ok(tf.max(tf.abs(tf.sub(standardise(swapped), standardise(h)))).dataSync()[0]! < 1e-3);
  });

  it("passes no gradient through the statistics: taking its partner's style, an image's gradient is the partner's deviation over its own", () => {
    const h = features();
    const partners = Int32Array.from([1, 0, 3, 2, 5, 4]);
    const g = tf.grad((x: TF.Tensor) => tf.sum(mixStyle(tf, x as TF.Tensor4D, { partners, lambdas: new Float32Array(6) })))(h);
    // out = (x - mu) / sigma * sigma_partner + mu_partner, with both statistics held constant. Had the
    // gradient gone through mu and sigma, the sum of a standardised image (always 0) would give none.
    const deviation = (image: number) => tf.sqrt(tf.add(tf.moments(tf.slice(h, [image], [1]), [0, 1, 2]).variance, 1e-6));
    const expected = tf.div(deviation(1), deviation(0));
    assert.ok(tf.max(tf.abs(tf.sub(tf.slice(g, [0], [1]), expected))).dataSync()[0]! < 1e-4);
  });

  it("picks cross-domain partners of the other kind (an image without one keeps its own); 'random' is a permutation", () => {
    const rng = new Random('partners');
    const real = Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 0]);
    const partners = stylePartners(real, 'cross-domain', rng);
    partners.forEach((p, i) => assert.notEqual(real[p], real[i], `image ${i} (real ${real[i]}) got partner ${p}`));
    assert.deepEqual(Array.from(stylePartners(new Uint8Array(4), 'cross-domain', rng)), [0, 1, 2, 3]);
    assert.deepEqual([...stylePartners(real, 'random', rng)].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('mixes about `prob` of the batches, at each listed stage, and draws nothing when off', () => {
    const cfg = { ...DEFAULT_TRAIN.mixStyle, prob: 0.5, partner: 'random' as const };
    const rng = new Random('plan');
    const plans = Array.from({ length: 400 }, () => planStyleMix(new Uint8Array(8), cfg, rng));
    const mixed = plans.filter((p) => p !== undefined);
    assert.ok(mixed.length > 160 && mixed.length < 240, `${mixed.length} of 400 batches mixed`);
    assert.deepEqual([...mixed[0]!.keys()], cfg.stages);
    const [a, b] = [new Random('off'), new Random('off')];
    assert.equal(planStyleMix(new Uint8Array(8), { ...cfg, prob: 0 }, a), undefined);
    assert.equal(a.float(), b.float(), 'a batch that does not mix must not move the random stream');
  });

  it('draws lambda from Beta(a, a): mean 1/2, mostly near 0 or 1 for a = 0.1', () => {
    const rng = new Random('beta');
    const draws = Array.from({ length: 20000 }, () => rng.beta(0.1, 0.1));
    const mean = draws.reduce((s, v) => s + v, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    // P(X < 0.05 or X > 0.95) for Beta(0.1, 0.1) is about 0.74.
    const extreme = draws.filter((v) => v < 0.05 || v > 0.95).length / draws.length;
    assert.ok(extreme > 0.7 && extreme < 0.78, `share near 0 or 1: ${extreme}`);
    const wide = Array.from({ length: 20000 }, () => rng.beta(2, 5));
    assert.ok(Math.abs(wide.reduce((s, v) => s + v, 0) / wide.length - 2 / 7) < 0.01);
  });

  it('a training step with a plan mixes (another loss than without), and one whose partners are the images themselves does not', () => {
    const cfg = mergeTrainConfig(DEFAULT_TRAIN, { model: { widths: [8, 16, 16], denseUnits: 32, dropout: 0 } });
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 3) as TF.Tensor4D;
    const labels = Int32Array.from({ length: 16 }, (_, i) => (i * 7) % NUM_CLASSES);
    const loss = (plan?: Parameters<TrainingStep['run']>[4]) => new TrainingStep(tf, buildModel(tf, cfg.model, 7), tf.train.sgd(0.1), 0.1).run(x, labels, 0, undefined, plan).loss;
    const lambdas = new Float32Array(16);
    const reversed = Int32Array.from({ length: 16 }, (_, i) => 15 - i);
    const itself = Int32Array.from({ length: 16 }, (_, i) => i);
    const plain = loss();
    assert.notEqual(loss(new Map([[1, { partners: reversed, lambdas }]])), plain);
    assert.ok(Math.abs(loss(new Map([[1, { partners: itself, lambdas }], [2, { partners: itself, lambdas }]])) - plain) < 1e-4);
  });
});
