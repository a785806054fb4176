/**
 * The leak check: a crop that may be a K49 test image must never be trained on. Book 200010454 is one of
 * K49's source books, so some of its page crops are test images; a crop whose 28x28 image correlates at
 * LEAK_CORRELATION or more (normalised correlation of the pixels, the crop moved by up to a pixel each
 * way) with any real-sample image is dropped.
 * The 99th percentile between different real-sample images is 0.86 (../shared/data/README.md).
 */
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../core/backend';
import { PIXELS, shiftImages } from '../core/dataset';

export const LEAK_CORRELATION = 0.85;

/** Rows of N*784 bytes centred and scaled to unit length, as a tensor (a blank image stays zero). */
function normalisedRows(tf: ReturnType<typeof loadTf>['tf'], images: Uint8Array): TF.Tensor2D {
  const n = images.length / PIXELS;
  return tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(images), [n, PIXELS]);
    const centred = tf.sub(x, tf.mean(x, 1, true));
    return tf.div(centred, tf.maximum(tf.norm(centred, 'euclidean', 1, true), 1e-6)) as TF.Tensor2D;
  });
}

/** Shifts tried: the same stroke cut again may be framed a pixel off. */
const SHIFTS = [-1, 0, 1];

/**
 * For each image of `images` (N*784 bytes), its highest correlation with any image of `reference`, over
 * the image moved by up to a pixel each way: a test image cut again from its page is rarely framed to
 * the pixel as K49 framed it.
 */
export function maxCorrelations(images: Uint8Array, reference: Uint8Array, chunk = 2048): Float32Array {
  const { tf } = loadTf();
  const n = images.length / PIXELS;
  const out = new Float32Array(n).fill(-1);
  const ref = normalisedRows(tf, reference);
  try {
    for (const dy of SHIFTS) {
      for (const dx of SHIFTS) {
        const moved = shiftImages(images, dx, dy);
        for (let start = 0; start < n; start += chunk) {
          const end = Math.min(n, start + chunk);
          const best = tf.tidy(() => tf.max(tf.matMul(normalisedRows(tf, moved.subarray(start * PIXELS, end * PIXELS)), ref, false, true), 1));
          const values = best.dataSync() as Float32Array;
          for (let i = 0; i < values.length; i++) out[start + i] = Math.max(out[start + i]!, values[i]!);
          best.dispose();
        }
      }
    }
  } finally {
    ref.dispose();
  }
  return out;
}
