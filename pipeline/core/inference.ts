/**
 * The classifier used by evaluation, the API and the worker: loads an artifact
 * and runs it through a compiled inference path. Batch normalisation is folded
 * into the preceding convolution or dense weights and each layer becomes one
 * fused native op (conv + bias + ReLU), cheaper than tfjs-layers' predict()
 * for single images (figures in bench/results.json). One code path everywhere, so the service
 * predicts exactly what `make evaluate` reports.
 */
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { checkArtifactCompatible, MODEL_SUBDIR } from './artifacts';
import { loadTf, type Tf } from './backend';
import { K49_CLASSES, NUM_CLASSES } from './classes';
import { IMAGE_SIZE, PIXELS } from './dataset';
import { toModelInput } from './preprocess/fit';
import { type GroupFigures, readEvalRecord, readTrainRecord } from './records';

export type Step = (tf: Tf, x: TF.Tensor) => TF.Tensor;

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): TF.Tensor[];
}

/** Folds a BatchNormalization layer into (kernel, bias): per output channel scale and shift. */
function foldBatchNorm(tf: Tf, kernel: TF.Tensor, bias: TF.Tensor | null, bn: LayerLike): [TF.Tensor, TF.Tensor] {
  const cfg = bn.getConfig();
  const eps = (cfg.epsilon as number) ?? 1e-3;
  const ws = bn.getWeights();
  // Weights order: [gamma?, beta?, movingMean, movingVariance]
  const hasGamma = cfg.scale !== false,
    hasBeta = cfg.center !== false;
  let k = 0;
  const gamma = hasGamma ? ws[k++]! : null;
  const beta = hasBeta ? ws[k++]! : null;
  const mean = ws[k++]!,
    variance = ws[k++]!;
  return tf.tidy(() => {
    let scale = tf.rsqrt(tf.add(variance, eps));
    if (gamma) scale = tf.mul(scale, gamma);
    const b0 = bias ?? tf.zerosLike(mean);
    let b = tf.mul(tf.sub(b0, mean), scale);
    if (beta) b = tf.add(b, beta);
    return [tf.keep(tf.mul(kernel, scale)), tf.keep(b)] as [TF.Tensor, TF.Tensor];
  });
}

/** Turns a Sequential tfjs-layers model into a list of fused inference steps; tensors it creates go to `owned` (to dispose). */
export function compileInference(tf: Tf, model: TF.LayersModel, owned: TF.Tensor[] = []): Step[] {
  const layers = model.layers as unknown as LayerLike[];
  const steps: Step[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const kind = layer.getClassName();
    const cfg = layer.getConfig();
    if (kind === 'Conv2D' || kind === 'Dense') {
      const [kernel, maybeBias] = layer.getWeights();
      let w = kernel!,
        b: TF.Tensor | null = cfg.useBias === false ? null : (maybeBias ?? null);
      let next = layers[i + 1];
      if (next?.getClassName() === 'BatchNormalization') {
        [w, b] = foldBatchNorm(tf, w, b, next);
        owned.push(w, b);
        i++;
        next = layers[i + 1];
      }
      let activation = (cfg.activation as string) ?? 'linear';
      if (next?.getClassName() === 'ReLU' && activation === 'linear') {
        activation = 'relu';
        i++;
      }
      const act = activation === 'relu' ? 'relu' : 'linear';
      const softmax = activation === 'softmax';
      if (!['relu', 'linear', 'softmax'].includes(activation)) throw new Error(`unsupported activation ${activation} in ${kind}`);
      const bias = b ?? undefined;
      if (kind === 'Conv2D') {
        const strides = cfg.strides as [number, number];
        const pad = cfg.padding as 'same' | 'valid';
        steps.push((t, x) => t.fused.conv2d({ x: x as TF.Tensor4D, filter: w as TF.Tensor4D, strides, pad, bias, activation: act }));
      } else {
        steps.push((t, x) => {
          const y = t.fused.matMul({ a: x as TF.Tensor2D, b: w as TF.Tensor2D, bias, activation: act });
          return softmax ? t.softmax(y) : y;
        });
      }
    } else if (kind === 'MaxPooling2D') {
      const pool = cfg.poolSize as [number, number];
      const strides = (cfg.strides as [number, number]) ?? pool;
      steps.push((t, x) => t.maxPool(x as TF.Tensor4D, pool, strides, cfg.padding as 'valid' | 'same'));
    } else if (kind === 'Flatten') {
      steps.push((t, x) => t.reshape(x, [x.shape[0]!, -1]));
    } else if (kind === 'ReLU') {
      steps.push((t, x) => t.relu(x));
    } else if (kind === 'Dropout') {
      // identity at inference
    } else {
      throw new Error(`layer type ${kind} is not supported by the inference compiler`);
    }
  }
  return steps;
}

export interface Prediction {
  class_id: number;
  prediction: string;
  confidence: number;
}

export interface ModelInfo {
  version: string;
  /** What it was trained on, for people: the data set's name and size. */
  training_data: { name: string; images: number };
  /**
   * Its own evaluation (metrics.json of the artifact): the data set, the plain
   * and balanced accuracy, and the mean recall of the classes with and
   * without real training images (null for a model that does not record its sources).
   */
  evaluation: { data: string; images: number; accuracy: number; balanced_accuracy: number; groups: GroupFigures | null } | null;
}

export class K49Classifier {
  private constructor(
    private readonly tf: Tf,
    private readonly steps: Step[],
    readonly info: ModelInfo,
    readonly dir: string,
    /** The loaded model and the folded weights: freed by dispose(). */
    private readonly tensors: { model: TF.LayersModel; owned: TF.Tensor[] },
  ) {}

  /** Frees the weights (a hot reload retires the old model this way); the classifier is unusable afterwards. */
  dispose(): void {
    this.tensors.model.dispose();
    for (const t of this.tensors.owned) t.dispose();
  }

  static async load(dir: string): Promise<K49Classifier> {
    const { tf } = loadTf();
    checkArtifactCompatible(dir);
    const model = await tf.loadLayersModel(`file://${path.join(dir, MODEL_SUBDIR, 'model.json')}`);
    const owned: TF.Tensor[] = [];
    const steps = compileInference(tf, model, owned);
    const train = readTrainRecord(dir);
    const own = readEvalRecord(dir);
    const info: ModelInfo = {
      version: train.version,
      training_data: { name: train.data.name, images: train.data.images },
      evaluation: own
        ? { data: own.data.name, images: own.data.images, accuracy: own.accuracy, balanced_accuracy: own.balanced_accuracy, groups: own.groups ?? null }
        : null,
    };
    const classifier = new K49Classifier(tf, steps, info, dir, { model, owned });
    classifier.warmUp();
    return classifier;
  }

  /** First calls at a batch size pick kernels and allocate (with oneDNN, for each new size); do them before serving. */
  warmUp(batchSizes: readonly number[] = [1, 8, 64]): void {
    for (const n of batchSizes) this.probabilities(new Uint8Array(n * PIXELS));
  }

  /** Class probabilities for N K49 images (N*784 bytes): N*49 floats. */
  probabilities(images: Uint8Array): Float32Array {
    return runSteps(this.tf, this.steps, images);
  }

  /** Best class and its confidence for many images, in fixed batches (evaluation, worker). */
  classify(images: Uint8Array, batch = 256): { classes: Int32Array; confidences: Float32Array } {
    return classifyInBatches((part) => this.probabilities(part), images, batch);
  }
}

/** Class probabilities for N K49 images through compiled inference steps. */
export function runSteps(tf: Tf, steps: Step[], images: Uint8Array): Float32Array {
  const n = images.length / PIXELS;
  // The output tensor leaves tidy() and is read outside it: tidy() walks whatever it returns, element by element for a typed array.
  const out = tf.tidy(() => {
    let x: TF.Tensor = tf.tensor4d(toModelInput(images), [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
    for (const step of steps) x = step(tf, x);
    return x;
  });
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Best class and confidence of many images, `batch` images per call of `probabilities`. */
export function classifyInBatches(
  probabilities: (images: Uint8Array) => Float32Array,
  images: Uint8Array,
  batch: number,
): { classes: Int32Array; confidences: Float32Array } {
  const n = images.length / PIXELS;
  const probs = new Float32Array(n * NUM_CLASSES);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    probs.set(probabilities(images.subarray(start * PIXELS, end * PIXELS)), start * NUM_CLASSES);
  }
  return bestClasses(probs);
}

/**
 * The best class and its probability for each image of `probs` (49 per
 * image): the one argmax of the system, used by training validation,
 * evaluation and the worker; the API's topK puts the same class first.
 */
export function bestClasses(probs: Float32Array): { classes: Int32Array; confidences: Float32Array } {
  const n = probs.length / NUM_CLASSES;
  const classes = new Int32Array(n);
  const confidences = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * NUM_CLASSES;
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c++) if (probs[row + c]! > probs[row + best]!) best = c;
    classes[i] = best;
    confidences[i] = probs[row + best]!;
  }
  return { classes, confidences };
}

/** The k most probable classes of one image's 49 probabilities, best first (the one top-k of the system; its first is bestClasses'). */
export function topK(probs: Float32Array, k: number): Prediction[] {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  return order.slice(0, k).map((c) => ({ class_id: c, prediction: K49_CLASSES[c]!.char, confidence: probs[c]! }));
}
