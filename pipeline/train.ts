/**
 * `k49 train`: trains a CNN on a K49-format directory and writes a versioned
 * artifact. One config object holds every hyperparameter and is saved with
 * the artifact. Handles class imbalance by class-balanced sampling, keeps a
 * stratified validation split from train, schedules the learning rate
 * (warm-up + cosine), stops early on validation balanced accuracy, checkpoints
 * every epoch and resumes from the last checkpoint with `--resume`.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf, type Tf } from './backend';
import { ARTIFACTS_DIR, CANDIDATE, gitCommit, MODEL_SUBDIR, newVersion, pointLink, readJson, writeArtifactBasics, writeJson } from './artifacts';
import { augmentBatch, type AugmentConfig } from './augment-batch';
import { NUM_CLASSES } from './classes';
import { classCounts, PIXELS, type LabelledImages } from './dataset';
import { WeightAverage } from './ema';
import { computeMetrics } from './metrics';
import { buildModel, type ModelConfig } from './model';
import { writeNpz, readNpz } from './npz';
import { toModelInput } from './preprocess';
import { Random } from './random';
import { loadSources, parseSources } from './sources';

export interface TrainConfig {
  seed: number;
  model: ModelConfig;
  epochs: number;
  batchSize: number;
  learningRate: number;
  minLearningRate: number;
  warmupEpochs: number;
  schedule: 'cosine' | 'constant';
  labelSmoothing: number;
  validationFraction: number;
  /** Stop when validation balanced accuracy has not improved for this many epochs (0 = never). */
  earlyStoppingPatience: number;
  /**
   * Class-balanced sampling: each epoch draws training images with weight
   * n_class^-exponent (0 = natural frequencies, 1 = every class equally often).
   */
  balanceExponent: number;
  augment: AugmentConfig;
  /** Cap on training images (0 = all); for smoke runs. */
  maxTrainImages: number;
  /**
   * Exponential moving average of the weights, updated after every step
   * (0 = off). Validation, early stopping and the artifact use the averaged
   * weights: averaging smooths the epoch-to-epoch swings (on the synthetic
   * run it was 4 to 6 points better on the real sample in epochs 2 to 5 and
   * level at the end; see the bundled model's card).
   */
  emaDecay: number;
}

export const DEFAULT_TRAIN: TrainConfig = {
  seed: 42,
  model: { architecture: 'k49net', widths: [32, 64, 128], convsPerStage: [1, 1, 1], head: 'flatten', denseUnits: 256, dropout: 0.3, l2: 1e-4 },
  epochs: 40,
  batchSize: 128,
  learningRate: 2e-3,
  minLearningRate: 2e-5,
  warmupEpochs: 1,
  schedule: 'cosine',
  labelSmoothing: 0.1,
  validationFraction: 0.1,
  earlyStoppingPatience: 8,
  balanceExponent: 0.5,
  augment: { enabled: true, rotationDeg: 10, scale: [0.85, 1.1], shear: 0.2, translatePx: 2, strokeProb: 0.15, eraseProb: 0.2 },
  maxTrainImages: 0,
  emaDecay: 0.999,
};

/** The replaced system's recipe: 2 conv + FC128, Adam, 12 epochs, no augmentation, natural sampling. */
export const BASELINE_TRAIN: TrainConfig = {
  ...DEFAULT_TRAIN,
  model: { architecture: 'baseline', widths: [32, 64, 128], convsPerStage: [1, 1, 1], head: 'flatten', denseUnits: 128, dropout: 0, l2: 0 },
  epochs: 12,
  learningRate: 1e-3,
  warmupEpochs: 0,
  schedule: 'constant',
  labelSmoothing: 0,
  earlyStoppingPatience: 0,
  balanceExponent: 0,
  augment: { ...DEFAULT_TRAIN.augment, enabled: false },
  emaDecay: 0,
};

/** Deep-merges a partial config (from CONFIG=file.json) over the defaults. */
export function mergeConfig(base: TrainConfig, override: Record<string, unknown>): TrainConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (!(k in base)) throw new Error(`unknown training config key '${k}' (known: ${Object.keys(base).join(', ')})`);
    const current = (base as unknown as Record<string, unknown>)[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && current && typeof current === 'object' ? { ...current, ...v } : v;
  }
  return merged as unknown as TrainConfig;
}

export interface EpochRecord {
  epoch: number;
  learning_rate: number;
  loss: number;
  accuracy: number;
  val_accuracy: number;
  val_balanced_accuracy: number;
  images_per_second: number;
  seconds: number;
}

interface TrainState {
  epoch: number; // last completed
  bestEpoch: number;
  bestScore: number;
  history: EpochRecord[];
  trainSeconds: number;
}

export interface TrainOptions {
  data: string;
  out?: string;
  config?: TrainConfig;
  resume?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
}

/** Stratified split: the same fraction of every class goes to validation. */
export function stratifiedSplit(labels: Uint8Array, fraction: number, rng: Random) {
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  labels.forEach((l, i) => byClass[l]!.push(i));
  const train: number[] = [], val: number[] = [];
  for (const idx of byClass) {
    rng.shuffle(idx);
    const nVal = idx.length >= 2 ? Math.max(1, Math.round(idx.length * fraction)) : 0;
    val.push(...idx.slice(0, nVal));
    train.push(...idx.slice(nVal));
  }
  return { train, val };
}

/**
 * An epoch's worth of indices, drawn with class-balanced weights over all
 * sources together (n_class^-exponent), each image's also multiplied by its
 * source's weight.
 */
export function sampleEpoch(train: number[], labels: Uint8Array, exponent: number, rng: Random, sourceWeight: (i: number) => number = () => 1): number[] {
  const uniform = train.every((i) => sourceWeight(i) === sourceWeight(train[0]!));
  if (exponent === 0 && uniform) return rng.shuffle([...train]);
  const counts = classCounts(Uint8Array.from(train, (i) => labels[i]!));
  const cumulative = new Float64Array(train.length);
  let total = 0;
  train.forEach((i, k) => {
    total += sourceWeight(i) * Math.pow(counts[labels[i]!]!, -exponent);
    cumulative[k] = total;
  });
  return train.map(() => {
    const u = rng.float() * total;
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return train[lo]!;
  });
}

function learningRateAt(cfg: TrainConfig, progress: number): number {
  if (progress < cfg.warmupEpochs) return cfg.learningRate * Math.max(0.05, progress / cfg.warmupEpochs);
  if (cfg.schedule === 'constant') return cfg.learningRate;
  const t = (progress - cfg.warmupEpochs) / Math.max(1e-9, cfg.epochs - cfg.warmupEpochs);
  return cfg.minLearningRate + 0.5 * (cfg.learningRate - cfg.minLearningRate) * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

function gather(data: LabelledImages, indices: number[]): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(indices.length * PIXELS);
  const y = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    x.set(toModelInput(data.images.subarray(i * PIXELS, (i + 1) * PIXELS)), k * PIXELS);
    y[k] = data.labels[i]!;
  });
  return { x, y };
}

/** Predicted class of each image (batched inference). */
export function predictClasses(tf: Tf, model: TF.LayersModel, images: Uint8Array, batch = 512): { classes: Int32Array; confidences: Float32Array } {
  const n = images.length / PIXELS;
  const classes = new Int32Array(n);
  const confidences = new Float32Array(n);
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const [cls, conf] = tf.tidy(() => {
      const x = tf.tensor4d(toModelInput(images.subarray(start * PIXELS, end * PIXELS)), [end - start, 28, 28, 1]);
      const p = model.predict(x) as TF.Tensor2D;
      return [p.argMax(1).dataSync(), p.max(1).dataSync()];
    });
    classes.set(cls as Int32Array, start);
    confidences.set(conf as Float32Array, start);
  }
  return { classes, confidences };
}

/** Where a checkpoint keeps the weight average (a model of its own) for --resume. */
const AVERAGED_SUBDIR = 'averaged';

async function saveCheckpoint(dir: string, model: TF.LayersModel, optimizer: TF.Optimizer, state: TrainState, average?: WeightAverage): Promise<void> {
  const tmp = `${dir}.tmp`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await model.save(`file://${tmp}`);
  if (average) await average.withAveraged(() => model.save(`file://${path.join(tmp, AVERAGED_SUBDIR)}`));
  const weights = await optimizer.getWeights();
  const arrays: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [k, w] of weights.entries()) arrays[`${k}`] = { data: w.tensor.dataSync() as Float32Array, shape: w.tensor.shape };
  await writeNpz(path.join(tmp, 'optimizer.npz'), arrays);
  await writeJson(path.join(tmp, 'optimizer-names.json'), weights.map((w) => w.name));
  await writeJson(path.join(tmp, 'state.json'), state);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
}


export interface TrainResult {
  artifactDir: string;
  history: EpochRecord[];
  bestEpoch: number;
  bestValBalancedAccuracy: number;
  imagesPerSecond: number;
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const { tf, name: backend } = loadTf();
  // DATA may name several sources (`a,b:2`); their training splits are joined.
  const all = await loadSources(parseSources(opts.data));
  let cfg = opts.config ?? DEFAULT_TRAIN;
  const outDir = path.resolve(opts.out ?? path.join(ARTIFACTS_DIR, newVersion(cfg.model.architecture)));
  const ckptDir = path.join(outDir, 'checkpoints');
  let state: TrainState = { epoch: 0, bestEpoch: 0, bestScore: -1, history: [], trainSeconds: 0 };

  if (opts.resume) {
    if (!existsSync(path.join(ckptDir, 'last', 'state.json'))) throw new Error(`--resume: no checkpoint in ${ckptDir}/last`);
    const saved = readJson<TrainConfig>(path.join(outDir, 'config.json'));
    // Runs from before weight averaging existed had none.
    cfg = { ...saved, emaDecay: saved.emaDecay ?? 0 };
    state = readJson<TrainState>(path.join(ckptDir, 'last', 'state.json'));
    log(`resuming ${outDir} after epoch ${state.epoch}`);
  }
  await writeArtifactBasics(outDir);
  await writeJson(path.join(outDir, 'config.json'), cfg);

  if (cfg.maxTrainImages > 0 && all.count > cfg.maxTrainImages) {
    const keep = new Random(`${cfg.seed}:subset`).shuffle(Array.from({ length: all.count }, (_, i) => i)).slice(0, cfg.maxTrainImages).sort((a, b) => a - b);
    const g = { images: new Uint8Array(keep.length * PIXELS), labels: new Uint8Array(keep.length), source: new Uint8Array(keep.length), count: keep.length };
    keep.forEach((i, k) => {
      g.images.set(all.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
      g.labels[k] = all.labels[i]!;
      g.source[k] = all.source[i]!;
    });
    Object.assign(all, g);
  }
  const split = stratifiedSplit(all.labels, cfg.validationFraction, new Random(`${cfg.seed}:split`));
  const classesPresent = classCounts(all.labels).filter((c) => c > 0).length;
  log(`data ${all.sources.map((s) => `${s.dir} (${s.kind}, ${s.images} images, weight ${s.weight})`).join(' + ')}: ${all.count} images, ${classesPresent} classes; train ${split.train.length}, validation ${split.val.length}; backend ${backend}`);
  const valImages = new Uint8Array(split.val.length * PIXELS);
  split.val.forEach((i, k) => valImages.set(all.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS));
  const valLabels = Uint8Array.from(split.val, (i) => all.labels[i]!);

  let model: TF.LayersModel;
  const optimizer = tf.train.adam(cfg.learningRate);
  if (opts.resume) {
    model = await tf.loadLayersModel(`file://${path.join(ckptDir, 'last', 'model.json')}`);
  } else {
    model = buildModel(tf, cfg.model, cfg.seed);
  }
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  if (opts.resume) {
    const names = readJson<string[]>(path.join(ckptDir, 'last', 'optimizer-names.json'));
    const arrays = await readNpz(path.join(ckptDir, 'last', 'optimizer.npz'));
    await optimizer.setWeights(names.map((name, k) => ({ name, tensor: tf.tensor(arrays.get(String(k))!.data as Float32Array, arrays.get(String(k))!.shape) })));
  }
  log(`model ${cfg.model.architecture}: ${model.countParams().toLocaleString('en')} parameters`);
  let average: WeightAverage | undefined;
  if (cfg.emaDecay > 0) {
    const saved = opts.resume ? await tf.loadLayersModel(`file://${path.join(ckptDir, 'last', AVERAGED_SUBDIR, 'model.json')}`) : undefined;
    average = new WeightAverage(tf, model, cfg.emaDecay, saved?.getWeights());
    saved?.dispose();
  }
  /** Runs `fn` with the weights that are validated and kept: the average when there is one, else the trained ones. */
  const withValidatedWeights = <T>(fn: () => T | Promise<T>): Promise<T> => (average ? average.withAveraged(fn) : Promise.resolve(fn()));

  const stepsPerEpoch = Math.ceil(split.train.length / cfg.batchSize);
  let patienceLeft = cfg.earlyStoppingPatience - (state.epoch - state.bestEpoch);
  for (let e = state.epoch + 1; e <= cfg.epochs; e++) {
    const rng = new Random(`${cfg.seed}:epoch:${e}`);
    const order = sampleEpoch(split.train, all.labels, cfg.balanceExponent, rng, (i) => all.sources[all.source[i]!]!.weight);
    const bar = opts.progress === false ? null : new SingleBar({
      format: `epoch ${e}/${cfg.epochs} [{bar}] {percentage}% | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
      noTTYOutput: true,
      notTTYSchedule: 10000,
      stream: process.stderr,
      etaBuffer: 50,
    });
    bar?.start(stepsPerEpoch, 0, { loss: '-', acc: '-', ips: '-' });
    const started = Date.now();
    let lossSum = 0, accSum = 0, seen = 0, lr = 0;
    for (let step = 0; step < stepsPerEpoch; step++) {
      lr = learningRateAt(cfg, e - 1 + step / stepsPerEpoch);
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const idx = order.slice(step * cfg.batchSize, (step + 1) * cfg.batchSize);
      const { x, y } = gather(all, idx);
      const [loss, acc] = await (async () => {
        const xa = augmentBatch(tf, x, rng, cfg.augment);
        const ys = tf.tidy(() => {
          const oneHot = tf.oneHot(tf.tensor1d(y, 'int32'), NUM_CLASSES).toFloat();
          return oneHot.mul(1 - cfg.labelSmoothing).add(cfg.labelSmoothing / NUM_CLASSES);
        });
        const r = (await model.trainOnBatch(xa, ys)) as number[];
        tf.dispose([xa, ys]);
        average?.update((e - 1) * stepsPerEpoch + step);
        return r;
      })();
      lossSum += loss! * idx.length;
      accSum += acc! * idx.length;
      seen += idx.length;
      const ips = seen / Math.max(0.001, (Date.now() - started) / 1000);
      bar?.update(step + 1, { loss: (lossSum / seen).toFixed(4), acc: (accSum / seen).toFixed(4), ips: ips.toFixed(0) });
      // trainOnBatch resolves through microtasks only; yield so timers (the progress bar) run.
      await new Promise((resolve) => setImmediate(resolve));
    }
    bar?.stop();
    const seconds = (Date.now() - started) / 1000;
    const val = await withValidatedWeights(() => computeMetrics(valLabels, predictClasses(tf, model, valImages).classes));
    const record: EpochRecord = {
      epoch: e,
      learning_rate: lr,
      loss: lossSum / seen,
      accuracy: accSum / seen,
      val_accuracy: val.accuracy,
      val_balanced_accuracy: val.balanced_accuracy,
      images_per_second: seen / seconds,
      seconds,
    };
    state.history.push(record);
    state.epoch = e;
    state.trainSeconds += seconds;
    log(
      `epoch ${e}: loss ${record.loss.toFixed(4)} acc ${record.accuracy.toFixed(4)} | val acc ${val.accuracy.toFixed(4)} ` +
        `balanced ${val.balanced_accuracy.toFixed(4)} | ${record.images_per_second.toFixed(0)} img/s, ${seconds.toFixed(0)} s`,
    );
    if (val.balanced_accuracy > state.bestScore) {
      state.bestScore = val.balanced_accuracy;
      state.bestEpoch = e;
      patienceLeft = cfg.earlyStoppingPatience;
      // 'best' holds the weights that were validated.
      await withValidatedWeights(() => saveCheckpoint(path.join(ckptDir, 'best'), model, optimizer, state));
    } else {
      patienceLeft--;
    }
    await saveCheckpoint(path.join(ckptDir, 'last'), model, optimizer, state, average);
    if (cfg.earlyStoppingPatience > 0 && patienceLeft <= 0) {
      log(`early stopping: no improvement for ${cfg.earlyStoppingPatience} epochs (best epoch ${state.bestEpoch})`);
      break;
    }
  }

  // The artifact's model is the best epoch's.
  const best = await tf.loadLayersModel(`file://${path.join(ckptDir, 'best', 'model.json')}`);
  await fs.rm(path.join(outDir, MODEL_SUBDIR), { recursive: true, force: true });
  await best.save(`file://${path.join(outDir, MODEL_SUBDIR)}`);
  const imagesPerSecond = state.history.reduce((a, r) => a + r.images_per_second, 0) / Math.max(1, state.history.length);
  await writeJson(path.join(outDir, 'train.json'), {
    version: path.basename(outDir),
    data: {
      dir: all.sources.map((s) => s.dir).join(','),
      name: all.sources.map((s) => s.name).join('+'),
      images: all.count,
      classes_present: classesPresent,
      md5: all.sources.length === 1 ? all.sources[0]!.md5 : Object.fromEntries(all.sources.flatMap((s) => Object.entries(s.md5).map(([f, m]) => [`${s.name}/${f}`, m]))),
      sources: all.sources,
    },
    split: { train: split.train.length, validation: split.val.length },
    backend,
    git_commit: gitCommit(),
    parameters: best.countParams(),
    best_epoch: state.bestEpoch,
    best_val_balanced_accuracy: state.bestScore,
    epochs_run: state.epoch,
    train_seconds: state.trainSeconds,
    images_per_second: imagesPerSecond,
    finished_at: new Date().toISOString(),
    history: state.history,
  });
  if (path.dirname(outDir) === ARTIFACTS_DIR) await pointLink(CANDIDATE, outDir);
  log(`artifact written: ${outDir} (best epoch ${state.bestEpoch}, val balanced accuracy ${state.bestScore.toFixed(4)})`);
  return { artifactDir: outDir, history: state.history, bestEpoch: state.bestEpoch, bestValBalancedAccuracy: state.bestScore, imagesPerSecond };
}
