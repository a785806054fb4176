/**
 * Training-time augmentation of whole batches: random affine warp (rotation,
 * scale, shear, translation; in JS, as tfjs-node has no native Transform
 * kernel), then as native TensorFlow ops stroke-width jitter (grey dilation or
 * erosion) and random erasing. Parameters come from a seeded Random, so an
 * epoch's augmentation is reproducible.
 */
import type { Tf } from '../core/backend';
import { IMAGE_SIZE } from '../core/dataset';
import type { Random } from '../core/random';
import { affineWarp } from '../core/warp';
import type * as TF from '@tensorflow/tfjs-node';
import type { AugmentConfig } from './config';


/** Inverse affine (output pixel -> input pixel) as [a, b, c, d, e, f] for affineWarp. */
function transformRow(rng: Random, cfg: AugmentConfig): number[] {
  const c = (IMAGE_SIZE - 1) / 2;
  const theta = (rng.uniform(-cfg.rotationDeg, cfg.rotationDeg) * Math.PI) / 180;
  const sx = rng.uniform(cfg.scale[0], cfg.scale[1]);
  const sy = sx * Math.exp(rng.uniform(-0.1, 0.1));
  const k = rng.uniform(-cfg.shear, cfg.shear);
  const tx = rng.uniform(-cfg.translatePx, cfg.translatePx);
  const ty = rng.uniform(-cfg.translatePx, cfg.translatePx);
  // Forward A = R(theta) * Shear(k) * S(sx, sy)
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const a = cos * sx, b = (cos * k - sin) * sy;
  const d = sin * sx, e = (sin * k + cos) * sy;
  const det = a * e - b * d;
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  // p_in = A^-1 (p_out - c - t) + c
  const ox = c + tx, oy = c + ty;
  return [ia, ib, c - ia * ox - ib * oy, id, ie, c - id * ox - ie * oy];
}

/** x: N 28x28 images as floats in [0, 1], image after image. Returns a [N, 28, 28, 1] tensor. */
export function augmentBatch(tf: Tf, x: Float32Array, rng: Random, cfg: AugmentConfig): TF.Tensor4D {
  const n = x.length / (IMAGE_SIZE * IMAGE_SIZE);
  if (!cfg.enabled) return tf.tensor4d(x, [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
  const warped = new Float32Array(x.length);
  const px = IMAGE_SIZE * IMAGE_SIZE;
  for (let i = 0; i < n; i++) {
    affineWarp(x.subarray(i * px, (i + 1) * px), IMAGE_SIZE, IMAGE_SIZE, transformRow(rng, cfg), warped.subarray(i * px, (i + 1) * px));
  }
  return tf.tidy(() => {
    let out = tf.tensor4d(warped, [n, IMAGE_SIZE, IMAGE_SIZE, 1]);

    // Stroke width: per image choose thicker (grey dilation), thinner (erosion) or as is.
    const choice = Array.from({ length: n }, () => {
      const u = rng.float();
      return u < cfg.strokeProb ? 1 : u < 2 * cfg.strokeProb ? -1 : 0;
    });
    if (choice.some((v) => v !== 0)) {
      const dilated = tf.maxPool(out, [2, 2], 1, 'same');
      const eroded = tf.neg(tf.maxPool(tf.neg(out) as TF.Tensor4D, [2, 2], 1, 'same'));
      const thick = tf.tensor4d(choice.map((v) => (v === 1 ? 1 : 0)), [n, 1, 1, 1]);
      const thin = tf.tensor4d(choice.map((v) => (v === -1 ? 1 : 0)), [n, 1, 1, 1]);
      const keep = tf.sub(1, tf.add(thick, thin));
      out = tf.addN([tf.mul(out, keep), tf.mul(dilated, thick), tf.mul(eroded, thin)]) as TF.Tensor4D;
    }

    if (cfg.eraseProb > 0) {
      const mask = new Float32Array(n * IMAGE_SIZE * IMAGE_SIZE).fill(1);
      for (let i = 0; i < n; i++) {
        if (!rng.chance(cfg.eraseProb)) continue;
        const w = rng.int(3, 9), h = rng.int(3, 9);
        const x0 = rng.int(0, IMAGE_SIZE - w), y0 = rng.int(0, IMAGE_SIZE - h);
        for (let y = y0; y < y0 + h; y++) mask.fill(0, i * 784 + y * IMAGE_SIZE + x0, i * 784 + y * IMAGE_SIZE + x0 + w);
      }
      out = tf.mul(out, tf.tensor4d(mask, [n, IMAGE_SIZE, IMAGE_SIZE, 1]));
    }
    return out;
  });
}
