/**
 * Batch-normalisation statistics re-estimated on real images (AdaBN, Li et
 * al. 2016), config `realStatsShare`: after training, the moving mean and
 * variance of each batch-normalisation layer move to those of its input over
 * the real training images, by the layer's share (1 = wholly, 0 = kept).
 * Training batches are mostly renderings, so the layers otherwise normalise
 * real ink as if it were rendered; re-estimated, they normalise it as real
 * ink, for every class, also those that had no real training images. No
 * labels are used. Moving the later layers' statistics, the dense layer's
 * most, trades recall of the classes with real images for the others' (the
 * bundled model's card), which is why it is off there.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';
import { IMAGE_SIZE, PIXELS } from '../core/dataset';
import { toModelInput } from '../core/preprocess';

/** Mean and (biased) variance per channel of a layer's input over all positions of all `images`. */
function inputMoments(tf: Tf, model: TF.LayersModel, layer: TF.layers.Layer, images: Uint8Array, batch: number): [TF.Tensor, TF.Tensor] {
  const upTo = tf.model({ inputs: model.inputs, outputs: layer.input as TF.SymbolicTensor });
  const n = images.length / PIXELS;
  // Every position of every image counts once per channel (a dense layer's input has one position).
  const count = n * (upTo.outputs[0]!.shape.slice(1, -1) as number[]).reduce((a, b) => a * b, 1);
  let sum: TF.Tensor | null = null;
  let sumSquares: TF.Tensor | null = null;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    // One batch's features at a time: only the running sums outlive it.
    const [s, q] = tf.tidy(() => {
      const features = upTo.predict(tf.tensor4d(toModelInput(images.subarray(start * PIXELS, end * PIXELS)), [end - start, IMAGE_SIZE, IMAGE_SIZE, 1])) as TF.Tensor;
      const axes = features.shape.slice(0, -1).map((_, i) => i);
      const batchSum = tf.sum(features, axes);
      const batchSquares = tf.sum(tf.square(features), axes);
      return [sum ? tf.add(sum, batchSum) : batchSum, sumSquares ? tf.add(sumSquares, batchSquares) : batchSquares];
    });
    tf.dispose([sum, sumSquares].filter((t): t is TF.Tensor => t !== null));
    sum = s;
    sumSquares = q;
  }
  const moments = tf.tidy(() => {
    const mean = tf.div(sum!, count);
    return [mean, tf.sub(tf.div(sumSquares!, count), tf.square(mean))];
  });
  tf.dispose([sum!, sumSquares!]);
  return [moments[0]!, moments[1]!];
}

/**
 * Moves the moving statistics of `model`'s batch-normalisation layers towards those of `images`
 * (N*784 bytes): layer i by `shares[i]`; layers past the end of `shares` keep theirs.
 */
export function reestimateBatchNorm(tf: Tf, model: TF.LayersModel, images: Uint8Array, shares: readonly number[], batch = 512): void {
  const norms = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
  if (shares.length > norms.length) throw new Error(`realStatsShare names ${shares.length} layers; the model has ${norms.length} batch-normalisation layers`);
  if (images.length === 0) throw new Error('re-estimating batch-normalisation statistics needs at least one image');
  // In order: each layer's input depends on the statistics of the layers before it.
  shares.forEach((share, i) => {
    if (share === 0) return;
    const norm = norms[i]!;
    const [mean, variance] = inputMoments(tf, model, norm, images, batch);
    const [gamma, beta, movingMean, movingVariance] = norm.getWeights();
    const moved = tf.tidy(() => [tf.add(tf.mul(mean, share), tf.mul(movingMean!, 1 - share)), tf.add(tf.mul(variance, share), tf.mul(movingVariance!, 1 - share))]);
    // setWeights copies into the layer's variables.
    norm.setWeights([gamma!, beta!, ...moved]);
    tf.dispose([mean, variance, ...moved]);
  });
}
