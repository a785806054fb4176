/**
 * The leak check: a crop that may be a K49 test image must never be trained on. Book 200010454 is one of
 * K49's source books, so some of its page crops are test images; a crop whose 28x28 image correlates at
 * LEAK_CORRELATION or more (normalised correlation of the pixels, the crop moved by up to a pixel each
 * way) with any real-sample image is dropped.
 * The 99th percentile between different real-sample images is 0.86 (../shared/data/README.md).
 */
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../core/backend';
import { hasSplit, loadSplit, PIXELS, shiftImages } from '../core/dataset';
import { projectRelative, REAL_SAMPLE_DIR } from '../core/paths';

export const LEAK_CORRELATION = 0.85;

/** The real K49 test images every set made for training is checked against, and where they are (project-relative). */
export interface LeakReference {
  dir: string;
  images: Uint8Array;
  count: number;
}

/** The leak check's reference: every real K49 test image this project holds (real-sample). Refused, with what to do, when it is not there. */
export async function loadLeakReference(dir = REAL_SAMPLE_DIR): Promise<LeakReference> {
  if (!hasSplit(dir, 'test')) {
    throw new Error(
      `the leak check needs the real K49 test images of ${projectRelative(dir)} (../shared/data/real-sample beside the project), and they are not there: ` +
        'without them nothing can tell which images may be K49 test images, which must never be trained on',
    );
  }
  const test = await loadSplit(dir, 'test');
  return { dir: projectRelative(dir), images: test.images, count: test.count };
}

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

/** The nearest reference image of an image: its index, the correlation, and the shift (dx, dy) of the image that gave it. */
export interface BestMatch {
  correlation: number;
  index: number;
  dx: number;
  dy: number;
}

/**
 * For each image of `images` (N*784 bytes), its highest correlation with any image of `reference`, over
 * the image moved by up to a pixel each way: a test image cut again from its page is rarely framed to
 * the pixel as K49 framed it.
 */
export function maxCorrelations(images: Uint8Array, reference: Uint8Array, chunk = 2048): Float32Array {
  return Float32Array.from(bestMatches(images, reference, chunk), (m) => m.correlation);
}

/**
 * maxCorrelations with the reference image and the shift that gave each image's highest correlation;
 * `shifts` [0] compares the images as they are (a ninth of the work: a first pass over many candidates).
 */
export function bestMatches(images: Uint8Array, reference: Uint8Array, chunk = 2048, shifts: readonly number[] = SHIFTS): BestMatch[] {
  const { tf } = loadTf();
  const n = images.length / PIXELS;
  const out: BestMatch[] = Array.from({ length: n }, () => ({ correlation: -1, index: -1, dx: 0, dy: 0 }));
  const ref = normalisedRows(tf, reference);
  try {
    for (const dy of shifts) {
      for (const dx of shifts) {
        const moved = shiftImages(images, dx, dy);
        for (let start = 0; start < n; start += chunk) {
          const end = Math.min(n, start + chunk);
          const [best, at] = tf.tidy(() => {
            const correlations = tf.matMul(normalisedRows(tf, moved.subarray(start * PIXELS, end * PIXELS)), ref, false, true);
            return [tf.max(correlations, 1), tf.argMax(correlations, 1)];
          });
          const values = best!.dataSync() as Float32Array;
          const indices = at!.dataSync() as Int32Array;
          for (let i = 0; i < values.length; i++) {
            const m = out[start + i]!;
            if (values[i]! > m.correlation) Object.assign(m, { correlation: values[i]!, index: indices[i]!, dx, dy });
          }
          tf.dispose([best!, at!]);
        }
      }
    }
  } finally {
    ref.dispose();
  }
  return out;
}
