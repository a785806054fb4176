/**
 * The class layer's prior corrected on unlabelled real crops (issue #34; docs/experiments.md,
 * variants 24 and 26), the last step of a training run whose config sets `priorCorrection`.
 *
 * Trained on class-balanced samples in which only some classes have real images, the model gives
 * real ink too often to those classes and too rarely to the others. Without labels: a bias b per
 * class is fitted so that the model's mean posterior over the crops equals K49's class frequency f
 * (its official training labels; iterative proportional fitting), and alpha (b - log f) is added to
 * the class layer's bias. Adding a constant per class to the logits is the same as adding it to the
 * log-probabilities and renormalising, so the served model needs no extra step.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';
import { NUM_CLASSES } from '../core/classes';
import { loadLabels, loadSplit, PIXELS } from '../core/dataset';
import { compileInference, runSteps } from '../core/inference';

const ROUNDS = 200;
const CHUNK = 1024;

/** Each class's share of `labels` (K49's official training labels: no image is read). */
export function classFrequency(labels: Uint8Array): Float64Array {
  const f = new Float64Array(NUM_CLASSES);
  for (const l of labels) f[l]! += 1 / labels.length;
  return f;
}

/**
 * b such that the mean over images of softmax(logProbs[i] + b) is `target` (iterative proportional
 * fitting: each round multiplies every class's prior by target / current mean).
 */
export function fitPriorBias(logProbs: Float64Array, target: Float64Array, rounds = ROUNDS): Float64Array {
  const C = target.length;
  const n = logProbs.length / C;
  const b = new Float64Array(C);
  const e = new Float64Array(C);
  for (let round = 0; round < rounds; round++) {
    const mean = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, logProbs[i * C + c]! + b[c]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += e[c] = Math.exp(logProbs[i * C + c]! + b[c]! - max);
      for (let c = 0; c < C; c++) mean[c]! += e[c]! / sum / n;
    }
    for (let c = 0; c < C; c++) b[c]! += Math.log(target[c]! / Math.max(mean[c]!, 1e-12));
  }
  return b;
}

/** The shift added to the class layer's bias: alpha (b - log f), b fitted on `probs` (N x 49) to frequency `f`. */
export function priorShift(probs: Float32Array, f: Float64Array, alpha: number): Float64Array {
  const b = fitPriorBias(
    Float64Array.from(probs, (p) => Math.log(Math.max(p, 1e-12))),
    f,
  );
  return b.map((v, c) => alpha * (v - Math.log(f[c]!)));
}

/** Adds `shift` to the bias of the model's last layer (the 49-way class layer). */
export function shiftClassBias(tf: Tf, model: TF.LayersModel, shift: Float64Array): void {
  const layer = model.layers[model.layers.length - 1]!;
  const [kernel, bias] = layer.getWeights();
  if (!kernel || !bias || bias.shape[0] !== shift.length) throw new Error(`the model's last layer is not a ${shift.length}-way class layer with a bias`);
  const shifted = tf.tidy(() => bias.add(tf.tensor1d(Float32Array.from(shift))));
  layer.setWeights([kernel, shifted]);
  shifted.dispose();
}

/**
 * Fits the correction on the crop set `cropsDir` (its train split, as `k49 crops` writes it) to the
 * class frequency of the K49 labels in `labelsDir`, and applies it to `model`; returns the shift.
 */
export async function correctClassPrior(tf: Tf, model: TF.LayersModel, cropsDir: string, labelsDir: string, alpha: number): Promise<Float64Array> {
  const crops = await loadSplit(cropsDir, 'train');
  const f = classFrequency(await loadLabels(labelsDir, 'train'));
  const owned: TF.Tensor[] = [];
  const probs = new Float32Array(crops.count * NUM_CLASSES);
  try {
    const steps = compileInference(tf, model, owned);
    for (let start = 0; start < crops.count; start += CHUNK) {
      const end = Math.min(crops.count, start + CHUNK);
      probs.set(runSteps(tf, steps, crops.images.subarray(start * PIXELS, end * PIXELS)), start * NUM_CLASSES);
    }
  } finally {
    tf.dispose(owned);
  }
  const shift = priorShift(probs, f, alpha);
  shiftClassBias(tf, model, shift);
  return shift;
}
