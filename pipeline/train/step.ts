/**
 * One training step (forward, backward, Adam update, batch-norm statistics)
 * of a model that `buildModel` made, run on the model's own variables, so the
 * model is saved, checkpointed and served exactly as before.
 *
 * Why not tfjs-layers' trainOnBatch: its batch normalisation, ReLU and
 * softmax cross-entropy gradients are composed from many small element-wise
 * ops, each a pass over the whole activation tensor; that, not the
 * convolutions, is where most of a step's time went (profile in the README,
 * Performance). Here batch norm + ReLU and softmax cross-entropy are each one
 * native TensorFlow kernel forward and one backward (FusedBatchNormV3 /
 * FusedBatchNormGradV3 + ReluGrad, SoftmaxCrossEntropyWithLogits). The same
 * maths composed from tfjs ops (`composedOps`) serves the pure-JS backend and
 * the tests that check the native gradients against it.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';
import { NUM_CLASSES } from '../core/classes';

/** Training-mode batch normalisation (optionally + ReLU) and the loss: the two places where a native kernel replaces many ops. */
export interface TrainingOps {
  /** y = [relu](gamma * (x - mean) / sqrt(var + eps) + beta) over the batch; also the batch mean and (biased) variance. */
  batchNorm(
    x: TF.Tensor4D,
    gamma: TF.Tensor1D,
    beta: TF.Tensor1D,
    epsilon: number,
    relu: boolean,
  ): { y: TF.Tensor4D; mean: TF.Tensor1D; variance: TF.Tensor1D };
  /** Mean over the batch of the softmax cross-entropy of `logits` against the (smoothed) one-hot `labels`. */
  softmaxCrossEntropy(logits: TF.Tensor2D, labels: TF.Tensor2D): TF.Scalar;
}

interface NativeBackend {
  binding: { TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_ATTR_TYPE: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: unknown[], inputs: TF.Tensor[]): TF.Tensor;
  executeMultipleOutputs(name: string, attrs: unknown[], inputs: TF.Tensor[], numOutputs: number): TF.Tensor[];
}

/** The native kernels, through tfjs-node's op executor (the `tensorflow` backend of tfjs-node and tfjs-node-gpu). */
export function nativeOps(tf: Tf): TrainingOps {
  const backend = tf.backend() as unknown as NativeBackend;
  const { TF_ATTR_FLOAT, TF_ATTR_STRING, TF_ATTR_BOOL, TF_ATTR_TYPE, TF_FLOAT } = backend.binding;
  const float32 = (name: string) => ({ name, type: TF_ATTR_TYPE, value: TF_FLOAT });
  const common = (epsilon: number) => [
    float32('T'),
    float32('U'),
    { name: 'epsilon', type: TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: TF_ATTR_BOOL, value: true },
  ];
  return {
    batchNorm(x, gamma, beta, epsilon, relu) {
      let mean!: TF.Tensor1D, variance!: TF.Tensor1D;
      const [n, h, w] = x.shape;
      const f = tf.customGrad((...args: (TF.Tensor | TF.GradSaveFunc)[]) => {
        const [xIn, g, b, save] = args as [TF.Tensor4D, TF.Tensor1D, TF.Tensor1D, TF.GradSaveFunc];
        const none = tf.tensor1d([], 'float32');
        const [normed, batchMean, batchVar, r1, r2, r3] = backend.executeMultipleOutputs(
          'FusedBatchNormV3',
          [...common(epsilon), { name: 'exponential_avg_factor', type: TF_ATTR_FLOAT, value: 1 }],
          [xIn, g, b, none, none],
          6,
        );
        const y = relu ? backend.executeSingleOutput('Relu', [float32('T')], [normed!]) : normed!;
        // TensorFlow's batch variance is Bessel-corrected; the moving average (as tfjs-layers keeps it) takes the biased one.
        const count = n * h * w;
        // Kept: the custom gradient's scope frees all but its value.
        mean = tf.keep(batchMean as TF.Tensor1D);
        variance = tf.keep(tf.mul(batchVar!, (count - 1) / count) as TF.Tensor1D);
        save([xIn, g, y, r1!, r2!, r3!]);
        return {
          value: y,
          gradFunc: (dy: TF.Tensor, saved: TF.Tensor[]) => {
            const [sx, sg, sy, s1, s2, s3] = saved as [TF.Tensor, TF.Tensor, TF.Tensor, TF.Tensor, TF.Tensor, TF.Tensor];
            const dNormed = relu ? backend.executeSingleOutput('ReluGrad', [float32('T')], [dy, sy]) : dy;
            const [dx, dGamma, dBeta] = backend.executeMultipleOutputs('FusedBatchNormGradV3', common(epsilon), [dNormed, sx, sg, s1, s2, s3], 5);
            return [dx!, dGamma!, dBeta!];
          },
        };
      });
      const y = f(x, gamma, beta) as TF.Tensor4D;
      return { y, mean, variance };
    },
    softmaxCrossEntropy(logits, labels) {
      const f = tf.customGrad((...args: (TF.Tensor | TF.GradSaveFunc)[]) => {
        const [lg, lb, save] = args as [TF.Tensor2D, TF.Tensor2D, TF.GradSaveFunc];
        const [losses, backprop] = backend.executeMultipleOutputs('SoftmaxCrossEntropyWithLogits', [float32('T')], [lg, lb], 2);
        save([backprop!]);
        return {
          value: tf.mean(losses!),
          gradFunc: (dy: TF.Tensor, [bp]: TF.Tensor[]) => [tf.mul(bp!, tf.div(dy, lg.shape[0])), tf.zerosLike(lb)],
        };
      });
      return f(logits, labels) as TF.Scalar;
    },
  };
}

/** The same maths from tfjs ops (autodiff composes the gradients): the pure-JS backend, and the reference in tests. */
export function composedOps(tf: Tf): TrainingOps {
  return {
    batchNorm(x, gamma, beta, epsilon, relu) {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const normed = tf.batchNorm(x, mean as TF.Tensor1D, variance as TF.Tensor1D, beta, gamma, epsilon);
      return { y: (relu ? tf.relu(normed) : normed) as TF.Tensor4D, mean: mean as TF.Tensor1D, variance: variance as TF.Tensor1D };
    },
    softmaxCrossEntropy(logits, labels) {
      return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as TF.Scalar;
    },
  };
}

/** The ops a backend runs fastest: native kernels on TensorFlow (tfjs-node, tfjs-node-gpu), composed ones elsewhere. */
function trainingOpsFor(tf: Tf): TrainingOps {
  return tf.getBackend() === 'tensorflow' ? nativeOps(tf) : composedOps(tf);
}

/** What a layer of the model does in a training step. */
type Part =
  | { kind: 'conv'; kernel: TF.Variable; bias?: TF.Variable; strides: [number, number]; pad: 'same' | 'valid'; relu: boolean; l2: number }
  | { kind: 'dense'; kernel: TF.Variable; bias?: TF.Variable; relu: boolean; l2: number; logits: boolean }
  | {
      kind: 'batchNorm';
      gamma: TF.Variable;
      beta: TF.Variable;
      movingMean: TF.Variable;
      movingVariance: TF.Variable;
      epsilon: number;
      momentum: number;
      relu: boolean;
    }
  | { kind: 'relu' }
  | { kind: 'maxPool'; pool: [number, number]; strides: [number, number]; pad: 'same' | 'valid' }
  | { kind: 'dropout'; rate: number }
  | { kind: 'flatten' };

interface LayerLike {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  weights: { name: string; read(): TF.Tensor }[];
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number]);

function l2Of(cfg: Record<string, unknown>): number {
  const reg = cfg.kernelRegularizer as { className?: string; config?: { l1?: number; l2?: number } } | null | undefined;
  if (!reg) return 0;
  if (reg.className !== 'L1L2' || (reg.config?.l1 ?? 0) !== 0)
    throw new Error(`the training step supports L2 kernel regularisation only, not ${JSON.stringify(reg)}`);
  return reg.config?.l2 ?? 0;
}

/** Reads a Sequential model's layers into the parts of a training step; anything buildModel does not make is refused. */
export function planSteps(model: TF.LayersModel): Part[] {
  const layers = model.layers as unknown as LayerLike[];
  const variable = (l: LayerLike, suffix: string) => {
    // The last part of the weight's name; a model loaded into a process that already holds one gets names ending in _1, _2...
    const w = l.weights.find((v) => v.name.split('/').pop()!.replace(/_\d+$/, '') === suffix);
    if (!w) throw new Error(`layer ${l.getClassName()} has no weight '${suffix}'`);
    return w.read() as TF.Variable;
  };
  const parts: Part[] = [];
  layers.forEach((l, i) => {
    const cfg = l.getConfig();
    const act = (cfg.activation as string | undefined) ?? 'linear';
    switch (l.getClassName()) {
      case 'Conv2D':
        if (!['linear', 'relu'].includes(act)) throw new Error(`unsupported activation ${act} in Conv2D`);
        parts.push({
          kind: 'conv',
          kernel: variable(l, 'kernel'),
          bias: cfg.useBias ? variable(l, 'bias') : undefined,
          strides: pair(cfg.strides),
          pad: cfg.padding as 'same' | 'valid',
          relu: act === 'relu',
          l2: l2Of(cfg),
        });
        break;
      case 'Dense': {
        const last = i === layers.length - 1;
        if (last ? act !== 'softmax' : !['linear', 'relu'].includes(act)) throw new Error(`unsupported activation ${act} in Dense layer ${i}`);
        parts.push({
          kind: 'dense',
          kernel: variable(l, 'kernel'),
          bias: cfg.useBias ? variable(l, 'bias') : undefined,
          relu: act === 'relu',
          l2: l2Of(cfg),
          logits: last,
        });
        break;
      }
      case 'BatchNormalization':
        if (cfg.center === false || cfg.scale === false) throw new Error('the training step needs batch normalisation with gamma and beta');
        parts.push({
          kind: 'batchNorm',
          gamma: variable(l, 'gamma'),
          beta: variable(l, 'beta'),
          movingMean: variable(l, 'moving_mean'),
          movingVariance: variable(l, 'moving_variance'),
          epsilon: cfg.epsilon as number,
          momentum: cfg.momentum as number,
          relu: false,
        });
        break;
      case 'ReLU': {
        const prev = parts.at(-1);
        if (prev?.kind === 'batchNorm') prev.relu = true;
        else parts.push({ kind: 'relu' });
        break;
      }
      case 'MaxPooling2D':
        parts.push({ kind: 'maxPool', pool: pair(cfg.poolSize), strides: pair(cfg.strides ?? cfg.poolSize), pad: cfg.padding as 'same' | 'valid' });
        break;
      case 'Dropout':
        parts.push({ kind: 'dropout', rate: cfg.rate as number });
        break;
      case 'Flatten':
        parts.push({ kind: 'flatten' });
        break;
      default:
        throw new Error(`layer type ${l.getClassName()} is not supported by the training step (pipeline/train/step.ts)`);
    }
  });
  if (parts.at(-1)?.kind !== 'dense') throw new Error('the model must end in a softmax Dense layer');
  return parts;
}

export interface StepResult {
  loss: number;
  accuracy: number;
}

/**
 * The training step of one model and optimizer. `run` takes a batch (a
 * [N, 28, 28, 1] tensor and the class ids) and a seed for the dropout masks,
 * updates the model's weights and batch-norm statistics, and returns the loss
 * (label-smoothed cross-entropy + L2, as trained) and the batch accuracy.
 */
export class TrainingStep {
  private readonly parts: Part[];
  private readonly trainable: TF.Variable[];

  constructor(
    private readonly tf: Tf,
    model: TF.LayersModel,
    private readonly optimizer: TF.Optimizer,
    private readonly labelSmoothing: number,
    private readonly ops: TrainingOps = trainingOpsFor(tf),
  ) {
    this.parts = planSteps(model);
    this.trainable = model.trainableWeights.map((w) => w.read() as TF.Variable);
  }

  /** Logits of a batch in training mode; batch-norm statistics of the batch go to `stats` (for the moving averages). */
  private forward(
    x: TF.Tensor4D,
    seed: number,
    stats: { part: Extract<Part, { kind: 'batchNorm' }>; mean: TF.Tensor1D; variance: TF.Tensor1D }[],
  ): { logits: TF.Tensor2D; l2: TF.Scalar | null } {
    const tf = this.tf;
    let h: TF.Tensor = x;
    let l2: TF.Scalar | null = null;
    const addL2 = (w: TF.Tensor, coefficient: number) => {
      if (coefficient === 0) return;
      const term = tf.mul(coefficient, tf.sum(tf.square(w))) as TF.Scalar;
      l2 = l2 ? (tf.add(l2, term) as TF.Scalar) : term;
    };
    this.parts.forEach((p, i) => {
      switch (p.kind) {
        case 'conv':
          h = tf.conv2d(h as TF.Tensor4D, p.kernel as TF.Tensor4D, p.strides, p.pad);
          if (p.bias) h = tf.add(h, p.bias);
          if (p.relu) h = tf.relu(h);
          addL2(p.kernel, p.l2);
          break;
        case 'dense':
          if (h.rank !== 2) h = tf.reshape(h, [h.shape[0]!, -1]);
          h = tf.matMul(h as TF.Tensor2D, p.kernel as TF.Tensor2D);
          if (p.bias) h = tf.add(h, p.bias);
          if (p.relu) h = tf.relu(h);
          addL2(p.kernel, p.l2);
          break;
        case 'batchNorm': {
          const flat = h.rank === 2;
          const x4 = (flat ? tf.reshape(h, [h.shape[0]!, 1, 1, h.shape[1]!]) : h) as TF.Tensor4D;
          const r = this.ops.batchNorm(x4, p.gamma as TF.Tensor1D, p.beta as TF.Tensor1D, p.epsilon, p.relu);
          // Kept past the gradient scope, for the moving averages.
          stats.push({ part: p, mean: tf.keep(r.mean), variance: tf.keep(r.variance) });
          h = flat ? tf.reshape(r.y, [h.shape[0]!, -1]) : r.y;
          break;
        }
        case 'relu':
          h = tf.relu(h);
          break;
        case 'maxPool':
          h = tf.maxPool(h as TF.Tensor4D, p.pool, p.strides, p.pad);
          break;
        case 'dropout':
          if (p.rate > 0) h = tf.dropout(h, p.rate, undefined, seed * 31 + i);
          break;
        case 'flatten':
          h = tf.reshape(h, [h.shape[0]!, -1]);
          break;
      }
    });
    return { logits: h as TF.Tensor2D, l2 };
  }

  /**
   * `candidates`, when given, holds per image a 0/1 row over the classes (the
   * classes its source holds) and an offset: every other class's logit is
   * lowered by the offset in that image's loss, and label smoothing spreads
   * over the candidates only. A very large offset makes the loss a softmax
   * over the candidates alone. Why: a source with real images of 10 classes
   * says which of those 10 an image is, not that real-looking images are
   * never one of the other 39 (see `absentClassOffset` in train/config.ts).
   */
  run(x: TF.Tensor4D, labels: Int32Array, seed: number, candidates?: { rows: Float32Array; offset: number }): StepResult {
    const tf = this.tf;
    const stats: { part: Extract<Part, { kind: 'batchNorm' }>; mean: TF.Tensor1D; variance: TF.Tensor1D }[] = [];
    const classIds = tf.tensor1d(labels, 'int32');
    const allowed = candidates ? tf.tensor2d(candidates.rows, [labels.length, NUM_CLASSES]) : null;
    const targets = tf.tidy(() => {
      const hot = tf.oneHot(classIds, NUM_CLASSES).toFloat();
      const spread = allowed ? tf.mul(tf.div(allowed, tf.sum(allowed, 1, true)), this.labelSmoothing) : this.labelSmoothing / NUM_CLASSES;
      return tf.add(tf.mul(hot, 1 - this.labelSmoothing), spread) as TF.Tensor2D;
    });
    const exclusion = allowed ? tf.tidy(() => tf.mul(tf.sub(allowed, 1), candidates!.offset)) : null;
    let correct: TF.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const { logits: raw, l2 } = this.forward(x, seed, stats);
      const logits = exclusion ? (tf.add(raw, exclusion) as TF.Tensor2D) : raw;
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), classIds), 'float32')) as TF.Scalar);
      const loss = this.ops.softmaxCrossEntropy(logits, targets);
      return l2 ? (tf.add(loss, l2) as TF.Scalar) : loss;
    }, this.trainable);
    this.optimizer.applyGradients(grads);
    tf.tidy(() => {
      for (const { part, mean, variance } of stats) {
        part.movingMean.assign(tf.sub(part.movingMean, tf.mul(tf.sub(part.movingMean, mean), 1 - part.momentum)));
        part.movingVariance.assign(tf.sub(part.movingVariance, tf.mul(tf.sub(part.movingVariance, variance), 1 - part.momentum)));
      }
    });
    const [loss, hits] = [value.dataSync()[0]!, correct!.dataSync()[0]!];
    tf.dispose([
      value,
      correct!,
      classIds,
      targets,
      ...(allowed ? [allowed, exclusion!] : []),
      ...Object.values(grads),
      ...stats.flatMap((s) => [s.mean, s.variance]),
    ]);
    return { loss, accuracy: hits / labels.length };
  }
}
