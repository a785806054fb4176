/**
 * MixStyle (Zhou et al. 2021; config `mixStyle`): while training, an image's
 * per-channel feature mean and deviation after a stage carry its style
 * (stroke contrast, ink level, texture) more than its class. Mixing them
 * with another image's shows the class head rendered glyphs of every class
 * in the statistics of real ink, and real ink in those of renderings, so
 * "looks real" stops predicting "one of the classes with real images".
 * No gradient flows through the statistics (as in the paper); inference
 * never mixes.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';
import type { Random } from '../core/random';
import type { MixStyleConfig } from './config';

/** One stage's mixing in one batch: each image's partner (itself: left as it is) and its own share lambda. */
export interface StyleMix {
  partners: Int32Array;
  lambdas: Float32Array;
}

/** Per image of a batch its partner; `real[i]` is 1 for an image of a real source. Without an image of the other kind, an image keeps its own style. */
export function stylePartners(real: Uint8Array, partner: MixStyleConfig['partner'], rng: Random): Int32Array {
  if (partner === 'random') return Int32Array.from(rng.shuffle(Array.from(real, (_, i) => i)));
  const byKind: number[][] = [[], []];
  real.forEach((r, i) => byKind[r ? 1 : 0]!.push(i));
  return Int32Array.from(real, (r, i) => {
    const others = byKind[r ? 0 : 1]!;
    return others.length > 0 ? others[rng.int(0, others.length)]! : i;
  });
}

/** The batch's mixing per stage (1-based, after that stage's max-pool), or none: each batch mixes with probability `cfg.prob`. */
export function planStyleMix(real: Uint8Array, cfg: MixStyleConfig, rng: Random): Map<number, StyleMix> | undefined {
  if (cfg.prob === 0 || !rng.chance(cfg.prob)) return undefined;
  return new Map(cfg.stages.map((stage) => [stage, { partners: stylePartners(real, cfg.partner, rng), lambdas: Float32Array.from(real, () => rng.beta(cfg.alpha, cfg.alpha)) }]));
}

/** `x` unchanged forward, no gradient backward. */
function stopGradient(tf: Tf, x: TF.Tensor): TF.Tensor {
  return tf.customGrad((input) => ({ value: tf.clone(input as TF.Tensor), gradFunc: (dy: TF.Tensor) => tf.zerosLike(dy) }))(x);
}

/** Features [N, H, W, C] with each image's channel means and deviations blended with its partner's. */
export function mixStyle(tf: Tf, h: TF.Tensor4D, mix: StyleMix): TF.Tensor4D {
  const { mean, variance } = tf.moments(h, [1, 2], true);
  const mu = stopGradient(tf, mean);
  const sigma = stopGradient(tf, tf.sqrt(tf.add(variance, 1e-6)));
  const partners = tf.tensor1d(mix.partners, 'int32');
  const lambda = tf.tensor4d(mix.lambdas, [mix.lambdas.length, 1, 1, 1]);
  const blend = (t: TF.Tensor) => tf.add(tf.mul(t, lambda), tf.mul(tf.gather(t, partners), tf.sub(1, lambda)));
  return tf.add(tf.mul(tf.div(tf.sub(h, mu), sigma), blend(sigma)), blend(mu)) as TF.Tensor4D;
}
