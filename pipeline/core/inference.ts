/**
 * The classifier used by evaluation, the API, the worker and the page reader:
 * loads an artifact (the tfjs-layers model training writes), folds batch
 * normalisation into the convolution and dense weights before it
 * (foldLayers), and runs the result as an ONNX graph in ONNX Runtime
 * (onnx.ts), about three times faster than TensorFlow.js at batch 1 and 1.5
 * times at batch 256 on this network (docs/performance.md). One code path
 * everywhere, so the service predicts exactly what `make evaluate` reports.
 * Training's validation runs the same folded layers as fused TensorFlow.js
 * ops (compileInference) on the model it is training.
 */
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import type * as ort from 'onnxruntime-node';
import { checkArtifactCompatible, MODEL_SUBDIR } from './artifacts';
import { inferenceSessionOptions, loadOnnxRuntime, loadTf, type Tf } from './backend';
import { NUM_CLASSES } from './classes';
import { IMAGE_SIZE, PIXELS } from './dataset';
import { type Activation, compileSteps, type FoldedLayer, runCompiled, type Step } from './folded';
import { buildOnnxModel, ONNX_INPUT, ONNX_OUTPUT } from './onnx';
import { toModelInput } from './preprocess/fit';
import { type GroupFigures, readEvalRecord, readTrainRecord } from './records';
import { VERSION } from './version';

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
  // Weight order: [gamma?, beta?, moving_mean, moving_variance]
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

/**
 * A Sequential tfjs-layers model as inference steps: each convolution or dense
 * layer with the batch normalisation and ReLU after it folded in, dropout
 * left out. The one reading of a trained network that both inference paths
 * (compileInference for training's validation, the ONNX graph for serving
 * and evaluation) are built from.
 */
function foldLayers(tf: Tf, model: TF.LayersModel): FoldedLayer[] {
  const layers = model.layers as unknown as LayerLike[];
  const folded: FoldedLayer[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const kind = layer.getClassName();
    const cfg = layer.getConfig();
    if (kind === 'Conv2D' || kind === 'Dense') {
      const [kernel, maybeBias] = layer.getWeights();
      let w = kernel!,
        b: TF.Tensor | null = cfg.useBias === false ? null : (maybeBias ?? null);
      const made: TF.Tensor[] = [];
      let next = layers[i + 1];
      if (next?.getClassName() === 'BatchNormalization') {
        [w, b] = foldBatchNorm(tf, w, b, next);
        made.push(w, b);
        i++;
        next = layers[i + 1];
      }
      let activation = (cfg.activation as string) ?? 'linear';
      if (next?.getClassName() === 'ReLU' && activation === 'linear') {
        activation = 'relu';
        i++;
      }
      if (!['relu', 'linear', 'softmax'].includes(activation)) throw new Error(`unsupported activation ${activation} in ${kind}`);
      const weights = {
        kernel: w.dataSync() as Float32Array,
        kernelShape: w.shape,
        bias: b ? (b.dataSync() as Float32Array) : new Float32Array(w.shape.at(-1)!),
        activation: activation as Activation,
      };
      tf.dispose(made);
      folded.push(
        kind === 'Conv2D'
          ? { kind: 'conv', ...weights, strides: cfg.strides as [number, number], pad: cfg.padding as 'same' | 'valid' }
          : { kind: 'dense', ...weights },
      );
    } else if (kind === 'MaxPooling2D') {
      const pool = cfg.poolSize as [number, number];
      folded.push({ kind: 'maxpool', pool, strides: (cfg.strides as [number, number]) ?? pool, pad: cfg.padding as 'same' | 'valid' });
    } else if (kind === 'Flatten') {
      folded.push({ kind: 'flatten' });
    } else if (kind === 'ReLU') {
      folded.push({ kind: 'relu' });
    } else if (kind !== 'Dropout') {
      // Dropout is the identity at inference.
      throw new Error(`layer type ${kind} is not supported by the inference compiler`);
    }
  }
  return folded;
}

/** The model's folded layers as fused TensorFlow.js ops (folded.ts); the tensors it creates go to `owned` (to dispose). */
export function compileInference(tf: Tf, model: TF.LayersModel, owned: TF.Tensor[] = []): Step[] {
  return compileSteps(tf, foldLayers(tf, model), owned);
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
    private readonly session: ort.InferenceSession,
    readonly info: ModelInfo,
    readonly dir: string,
    /** The network the session runs, as folded layers: what the web page runs (folded-transport.ts). */
    readonly folded: FoldedLayer[],
  ) {}

  /** Frees the session (a hot reload retires the old model this way); the classifier is unusable afterwards. */
  dispose(): void {
    void this.session.release();
  }

  /** Loads the artifact's tfjs-layers model, folds it and serves it through ONNX Runtime (onnx.ts). */
  static async load(dir: string): Promise<K49Classifier> {
    const { tf } = loadTf();
    checkArtifactCompatible(dir);
    const model = await tf.loadLayersModel(`file://${path.join(dir, MODEL_SUBDIR, 'model.json')}`);
    let folded: FoldedLayer[];
    try {
      folded = foldLayers(tf, model);
    } finally {
      model.dispose();
    }
    const graph = buildOnnxModel(folded, IMAGE_SIZE, `k49 ${VERSION}`);
    const session = await loadOnnxRuntime().InferenceSession.create(graph, inferenceSessionOptions());
    const train = readTrainRecord(dir);
    const own = readEvalRecord(dir);
    const info: ModelInfo = {
      version: train.version,
      training_data: { name: train.data.name, images: train.data.images },
      evaluation: own
        ? { data: own.data.name, images: own.data.images, accuracy: own.accuracy, balanced_accuracy: own.balanced_accuracy, groups: own.groups ?? null }
        : null,
    };
    const classifier = new K49Classifier(session, info, dir, folded);
    await classifier.warmUp();
    return classifier;
  }

  /** First calls at a batch size allocate and plan; do them before serving. */
  async warmUp(batchSizes: readonly number[] = [1, 8, 64]): Promise<void> {
    for (const n of batchSizes) await this.probabilities(new Uint8Array(n * PIXELS));
  }

  /** Class probabilities for N K49 images (N*784 bytes): N*49 floats. */
  async probabilities(images: Uint8Array): Promise<Float32Array> {
    const n = images.length / PIXELS;
    // [N, 28, 28, 1] (NHWC) and [N, 1, 28, 28] (NCHW) are the same bytes for one channel.
    const input = new (loadOnnxRuntime().Tensor)('float32', toModelInput(images), [n, 1, IMAGE_SIZE, IMAGE_SIZE]);
    const out = await this.session.run({ [ONNX_INPUT]: input });
    return out[ONNX_OUTPUT]!.data as Float32Array;
  }

  /** Best class and its confidence for many images, in fixed batches (evaluation, worker). */
  classify(images: Uint8Array, batch = 256): Promise<{ classes: Int32Array; confidences: Float32Array }> {
    return classifyInBatches((part) => this.probabilities(part), images, batch);
  }
}

/** Class probabilities for N K49 images through compiled inference steps. */
export function runSteps(tf: Tf, steps: Step[], images: Uint8Array): Float32Array {
  return runCompiled(tf, steps, toModelInput(images), IMAGE_SIZE);
}

/** Best class and confidence of many images, `batch` images per call of `probabilities`. */
export async function classifyInBatches(
  probabilities: (images: Uint8Array) => Float32Array | Promise<Float32Array>,
  images: Uint8Array,
  batch: number,
): Promise<{ classes: Int32Array; confidences: Float32Array }> {
  const n = images.length / PIXELS;
  const probs = new Float32Array(n * NUM_CLASSES);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    probs.set(await probabilities(images.subarray(start * PIXELS, end * PIXELS)), start * NUM_CLASSES);
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
