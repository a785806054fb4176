/**
 * Training and inference benchmark (`make bench`, model part).
 * Training, for the default architecture (one convolution per stage) and the
 * bundled one (two): the full recipe as `make train` runs it (class-balanced
 * sampling, batch gathering, augmentation, the training step, weight
 * averaging: `trainEpoch` itself, on real images), the bare training step on
 * one prepared batch, their ratio (what the loop around the step costs), and
 * tfjs-layers' trainOnBatch on the same model for reference. Inference:
 * images/s at batch 1 and 256 through the serving path, and peak memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { MODEL_SUBDIR } from '../pipeline/core/artifacts';
import { loadTf, type Tf } from '../pipeline/core/backend';
import { NUM_CLASSES } from '../pipeline/core/classes';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { compileInference, K49Classifier, runSteps } from '../pipeline/core/inference';
import { PROJECT_ROOT, REAL_SAMPLE_DIR } from '../pipeline/core/paths';
import { toModelInput } from '../pipeline/core/preprocess/fit';
import { Random } from '../pipeline/core/random';
import type { MixedSplit } from '../pipeline/data/sources';
import { augmentBatch } from '../pipeline/train/augment';
import { DEFAULT_TRAIN, loadTrainConfig, type TrainConfig } from '../pipeline/train/config';
import { modelFor, trainEpoch } from '../pipeline/train/loop';
import { buildModel } from '../pipeline/train/model';
import { median, percentile } from './harness';

function peakRssMb(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/** The architectures whose training speed is reported: the training default, and the bundled model's. */
const ARCHITECTURES: { name: string; config: () => TrainConfig }[] = [
  { name: 'k49net, 1 conv per stage (training default)', config: () => DEFAULT_TRAIN },
  {
    name: 'k49net, 2 convs per stage (bundled, configs/default-synth.json)',
    config: () => loadTrainConfig(path.join(PROJECT_ROOT, 'configs', 'default-synth.json')),
  },
];

/** Training images: the real sample (real strokes, as training sees them), else random ink. */
async function trainingImages(rng: Random): Promise<MixedSplit> {
  const n = 2048;
  const images = existsSync(REAL_SAMPLE_DIR)
    ? (await loadSplit(REAL_SAMPLE_DIR, 'test')).images.subarray(0, n * PIXELS)
    : Uint8Array.from({ length: n * PIXELS }, () => (rng.chance(0.2) ? rng.int(128, 256) : 0));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % NUM_CLASSES);
  return {
    images,
    labels,
    count: n,
    source: new Uint8Array(n),
    sources: [{ dir: '.', name: 'bench', kind: 'real', weight: 1, images: n, class_counts: [], md5: {} }],
  };
}

/**
 * Full recipe and bare step measured in alternation (ROUNDS rounds of 16
 * batches each), each figure the median of its rounds: this VM's speed
 * drifts by 10-20 % from second to second, which would otherwise decide the ratio.
 */
const ROUNDS = 5;

async function benchTraining(tf: Tf, cfg: TrainConfig, data: MixedSplit, rng: Random) {
  const all = Array.from({ length: data.count }, (_, i) => i);
  const batches = 16;
  const run = await modelFor(tf, cfg, null);
  // Bare step: the same training step, on one batch prepared beforehand (no sampling, augmentation or averaging).
  const x = augmentBatch(tf, toModelInput(data.images.subarray(0, cfg.batchSize * PIXELS)), rng, cfg.augment);
  const y = Int32Array.from(data.labels.subarray(0, cfg.batchSize));
  const bareRound = () => {
    const started = performance.now();
    for (let k = 0; k < batches; k++) run.step.run(x, y, k);
    return (batches * cfg.batchSize) / ((performance.now() - started) / 1000);
  };
  // Full recipe: trainEpoch as `make train` runs it, on `batches` batches; a short warm-up epoch first.
  await trainEpoch(tf, run, cfg, data, all.slice(0, 3 * cfg.batchSize), 1, false);
  bareRound();
  const full: number[] = [],
    bare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    full.push((await trainEpoch(tf, run, cfg, data, all.slice(0, batches * cfg.batchSize), 2 + r, false)).imagesPerSecond);
    bare.push(bareRound());
  }

  // tfjs-layers' own trainOnBatch on the same architecture (the step the training loop used before).
  const layers = buildModel(tf, cfg.model, cfg.seed);
  layers.compile({ optimizer: tf.train.adam(cfg.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const yHot = tf.oneHot(tf.tensor1d(y, 'int32'), NUM_CLASSES).toFloat();
  for (let k = 0; k < 2; k++) await layers.trainOnBatch(x, yHot);
  const started = performance.now();
  for (let k = 0; k < 6; k++) await layers.trainOnBatch(x, yHot);
  const layersIps = (6 * cfg.batchSize) / ((performance.now() - started) / 1000);
  tf.dispose([x, yHot]);
  layers.dispose();
  run.model.dispose();
  return {
    full_recipe_images_per_second: Math.round(median(full)),
    bare_step_images_per_second: Math.round(median(bare)),
    overhead_ratio: Number((median(full) / median(bare)).toFixed(3)),
    layers_train_on_batch_images_per_second: Math.round(layersIps),
  };
}

/** Anything that answers class probabilities for images: a K49Classifier, or the same model through another engine. */
type Probabilities = Pick<K49Classifier, 'probabilities'> | { probabilities(images: Uint8Array): Float32Array };

/** The model alone at batch 256 (after one warm-up call): images/s over `calls` calls on the first 256 of `images`. */
export async function batch256ImagesPerSecond(classifier: Probabilities, images: Uint8Array, calls = 10): Promise<number> {
  const batch = images.subarray(0, 256 * PIXELS);
  await classifier.probabilities(batch);
  const t = performance.now();
  for (let i = 0; i < calls; i++) await classifier.probabilities(batch);
  return (256 * calls) / ((performance.now() - t) / 1000);
}

/** Batch-1 latencies (ms) of `rounds` x `calls` single-image calls; with several classifiers, their rounds alternate, so drifts of the machine's speed hit all alike. */
async function batch1Latencies(classifiers: Probabilities[], images: Uint8Array, rounds: number, calls: number): Promise<number[][]> {
  const lat = classifiers.map(() => [] as number[]);
  for (const c of classifiers) for (let i = 0; i < 50; i++) await c.probabilities(images.subarray(0, PIXELS));
  for (let r = 0; r < rounds; r++) {
    for (const [k, c] of classifiers.entries()) {
      for (let i = 0; i < calls; i++) {
        const at = ((r * calls + i) % 1024) * PIXELS;
        const t = performance.now();
        await c.probabilities(images.subarray(at, at + PIXELS));
        lat[k]!.push(performance.now() - t);
      }
    }
  }
  return lat.map((l) => l.sort((a, b) => a - b));
}

/**
 * The served model through ONNX Runtime (how evaluation, API and worker run it) and through TensorFlow.js's
 * fused ops (how training validates it, and how the service ran it before), in alternating rounds in
 * this process's inference profile: what ONNX Runtime gains, measured, not assumed.
 */
async function onnxRuntimeAgainstTensorFlow(tf: Tf, classifier: K49Classifier, images: Uint8Array) {
  const layers = await tf.loadLayersModel(`file://${path.join(classifier.dir, MODEL_SUBDIR, 'model.json')}`);
  const owned: TF.Tensor[] = [];
  const steps = compileInference(tf, layers, owned);
  const fused = { probabilities: (x: Uint8Array) => runSteps(tf, steps, x) };
  try {
    const [onnx, tfjs] = (await batch1Latencies([classifier, fused], images, 10, 100)) as [number[], number[]];
    const rounds: (readonly [number, number])[] = [];
    for (let r = 0; r < 3; r++) rounds.push([await batch256ImagesPerSecond(classifier, images), await batch256ImagesPerSecond(fused, images)] as const);
    const at256 = (k: 0 | 1) => Math.round(rounds.map((x) => x[k]).sort((a, b) => a - b)[1]!);
    const p50 = (l: number[]) => Number(percentile(l, 0.5).toFixed(3));
    return {
      onnxruntime: { batch1_p50_ms: p50(onnx), batch256_images_per_second: at256(0) },
      tensorflow_fused: { batch1_p50_ms: p50(tfjs), batch256_images_per_second: at256(1) },
    };
  } finally {
    tf.dispose(owned);
    layers.dispose();
  }
}

export async function benchModel(modelDir: string, log = console.error, compareDir?: string) {
  const { tf, name: backend } = loadTf();
  const rng = new Random('bench');
  const images = Uint8Array.from({ length: 1024 * PIXELS }, () => (rng.chance(0.2) ? rng.int(128, 256) : 0));

  const data = await trainingImages(rng);
  const training = [];
  for (const arch of ARCHITECTURES) {
    const cfg = arch.config();
    const r = await benchTraining(tf, cfg, data, rng);
    training.push({ architecture: arch.name, batch_size: cfg.batchSize, ...r });
    log(
      `training, ${arch.name}: full recipe ${r.full_recipe_images_per_second} img/s, bare step ${r.bare_step_images_per_second} img/s ` +
        `(ratio ${r.overhead_ratio}); tfjs-layers trainOnBatch ${r.layers_train_on_batch_images_per_second} img/s`,
    );
  }

  // Inference through the service's path.
  const classifier = await K49Classifier.load(modelDir);
  const [lat] = (await batch1Latencies([classifier], images, 1, 500)) as [number[]];
  // Another model (e.g. the one this model replaces), batch 1, alternating with this one.
  let compared = null;
  if (compareDir) {
    const other = await K49Classifier.load(compareDir);
    const [mine, theirs] = (await batch1Latencies([classifier, other], images, 10, 100)) as [number[], number[]];
    const p50 = (l: number[]) => Number(percentile(l, 0.5).toFixed(3));
    compared = {
      model_version: other.info.version,
      p50_ms: p50(theirs),
      this_model_p50_ms: p50(mine),
      p50_ratio: Number((p50(mine) / p50(theirs)).toFixed(3)),
    };
    other.dispose();
    log(
      `batch 1, alternating: ${classifier.info.version} p50 ${compared.this_model_p50_ms} ms, ${compared.model_version} p50 ${compared.p50_ms} ms (ratio ${compared.p50_ratio})`,
    );
  }
  const ips256 = await batch256ImagesPerSecond(classifier, images);
  const engines = await onnxRuntimeAgainstTensorFlow(tf, classifier, images);
  log(
    `the same model through TensorFlow.js's fused ops, alternating: batch 1 p50 ${engines.tensorflow_fused.batch1_p50_ms} ms against ${engines.onnxruntime.batch1_p50_ms} ms on ONNX Runtime; ` +
      `batch 256 ${engines.tensorflow_fused.batch256_images_per_second} against ${engines.onnxruntime.batch256_images_per_second} img/s`,
  );
  const result = {
    backend,
    model_version: classifier.info.version,
    training,
    inference_batch1: {
      p50_ms: Number(percentile(lat, 0.5).toFixed(3)),
      p99_ms: Number(percentile(lat, 0.99).toFixed(3)),
      images_per_second: Math.round(1000 / (lat.reduce((a, b) => a + b, 0) / lat.length)),
    },
    inference_batch1_compared: compared,
    inference_batch256_images_per_second: Math.round(ips256),
    inference_engines: engines,
    peak_rss_mb: Math.round(peakRssMb()),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
  };
  log(
    `inference: batch 1 p50 ${result.inference_batch1.p50_ms} ms (p99 ${result.inference_batch1.p99_ms} ms, ${result.inference_batch1.images_per_second} img/s); ` +
      `batch 256 ${result.inference_batch256_images_per_second} img/s; peak RSS ${result.peak_rss_mb} MB`,
  );
  return result;
}
