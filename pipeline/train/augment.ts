/**
 * Training-time augmentation of whole batches, in JS on the batch's floats
 * before it becomes one tensor: random affine warp (rotation, scale, shear,
 * translation), stroke-width jitter (grey dilation or erosion over a 2x2
 * window), a levels stretch and random erasing. A few cheap passes over 100k floats, against
 * a dozen small TensorFlow ops and their tensors per batch. Parameters come
 * from a seeded Random, so an epoch's augmentation is reproducible.
 */

import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';
import { IMAGE_SIZE } from '../core/dataset';
import type { Random } from '../core/random';
import { affineWarp } from '../core/warp';
import type { AugmentConfig } from './config';

const SIDE = IMAGE_SIZE;
const PX = SIDE * SIDE;

/**
 * Max (dilate) or min (erode) over the 2x2 window at each pixel and its right
 * and lower neighbours (pixels outside the image are left out), into `out`:
 * TensorFlow's maxPool(2x2, stride 1, 'same') and its erosion twin.
 */
export function strokeFilter(img: Float32Array, out: Float32Array, dilate: boolean): void {
  const sign = dilate ? 1 : -1; // erosion is dilation of the negated image
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = y * SIDE + x;
      let v = sign * img[i]!;
      if (x + 1 < SIDE) v = Math.max(v, sign * img[i + 1]!);
      if (y + 1 < SIDE) {
        v = Math.max(v, sign * img[i + SIDE]!);
        if (x + 1 < SIDE) v = Math.max(v, sign * img[i + SIDE + 1]!);
      }
      out[i] = sign * v;
    }
  }
}

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
  const cos = Math.cos(theta),
    sin = Math.sin(theta);
  const a = cos * sx,
    b = (cos * k - sin) * sy;
  const d = sin * sx,
    e = (sin * k + cos) * sy;
  const det = a * e - b * d;
  const ia = e / det,
    ib = -b / det,
    id = -d / det,
    ie = a / det;
  // p_in = A^-1 (p_out - c - t) + c
  const ox = c + tx,
    oy = c + ty;
  return [ia, ib, c - ia * ox - ib * oy, id, ie, c - id * ox - ie * oy];
}

/** x: N 28x28 images as floats in [0, 1], image after image. Returns a [N, 28, 28, 1] tensor. */
export function augmentBatch(tf: Tf, x: Float32Array, rng: Random, cfg: AugmentConfig): TF.Tensor4D {
  const n = x.length / PX;
  if (!cfg.enabled) return tf.tensor4d(x, [n, SIDE, SIDE, 1]);
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) affineWarp(x.subarray(i * PX, (i + 1) * PX), SIDE, SIDE, transformRow(rng, cfg), out.subarray(i * PX, (i + 1) * PX));

  // Stroke width: per image choose thicker (grey dilation), thinner (erosion) or as is.
  const choice = Array.from({ length: n }, () => {
    const u = rng.float();
    return u < cfg.strokeProb ? 1 : u < 2 * cfg.strokeProb ? -1 : 0;
  });
  const scratch = new Float32Array(PX);
  choice.forEach((c, i) => {
    if (c === 0) return;
    const img = out.subarray(i * PX, (i + 1) * PX);
    strokeFilter(img, scratch, c === 1);
    img.set(scratch);
  });

  if (cfg.levelsProb > 0) {
    for (let i = 0; i < n; i++) {
      if (!rng.chance(cfg.levelsProb)) continue;
      const img = out.subarray(i * PX, (i + 1) * PX);
      let peak = 0;
      for (let k = 0; k < PX; k++) peak = Math.max(peak, img[k]!);
      const lo = rng.uniform(0.1, 0.4) * peak,
        hi = rng.uniform(0.5, 0.9) * peak;
      for (let k = 0; k < PX; k++) img[k] = Math.min(1, Math.max(0, (img[k]! - lo) / (hi - lo)));
    }
  }

  if (cfg.eraseProb > 0) {
    for (let i = 0; i < n; i++) {
      if (!rng.chance(cfg.eraseProb)) continue;
      const w = rng.int(3, 9),
        h = rng.int(3, 9);
      const x0 = rng.int(0, SIDE - w),
        y0 = rng.int(0, SIDE - h);
      for (let y = y0; y < y0 + h; y++) out.fill(0, i * PX + y * SIDE + x0, i * PX + y * SIDE + x0 + w);
    }
  }
  return tf.tensor4d(out, [n, SIDE, SIDE, 1]);
}
