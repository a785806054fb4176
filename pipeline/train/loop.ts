/**
 * `k49 train`: trains a CNN on one or more K49-format directories and writes
 * a versioned artifact. The config (train/config.ts) holds every
 * hyperparameter and is saved with the artifact. Class imbalance is handled by
 * class-balanced sampling (train/sampling.ts); a stratified validation split
 * is kept from train; the learning rate warms up then decays; training stops
 * early on validation balanced accuracy, checkpoints every epoch and resumes
 * from the last checkpoint with `--resume` (train/checkpoints.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { SingleBar } from 'cli-progress';
import { gitCommit, MODEL_SUBDIR, newVersion, pointLink, resolveModelDir, writeArtifactBasics, writeJson } from '../core/artifacts';
import { loadTf, type Tf } from '../core/backend';
import { classCounts } from '../core/dataset';
import { classifyInBatches, compileInference, runSteps } from '../core/inference';
import { computeMetrics } from '../core/metrics';
import { ARTIFACTS_DIR, CANDIDATE, PROJECT_ROOT, projectRelative } from '../core/paths';
import { Random } from '../core/random';
import { type EpochRecord, type TrainRecord, writeTrainRecord } from '../core/records';
import { loadSources, type MixedSplit, parseSources } from '../data/sources';
import { augmentBatch } from './augment';
import {
  checkpointDir,
  FRESH_STATE,
  hasCheckpoint,
  loadAveragedWeights,
  loadCheckpointModel,
  readState,
  restoreOptimizer,
  saveCheckpoint,
  type TrainState,
} from './checkpoints';
import { CONFIG_RECORD, DEFAULT_TRAIN, learningRateAt, readTrainConfig, type TrainConfig } from './config';
import { WeightAverage } from './ema';
import { buildModel } from './model';
import { gatherBatch, pick, sampleEpoch, sourceCandidates, sourceClassRows, stratifiedSplit } from './sampling';
import { TrainingStep } from './step';

export interface TrainOptions {
  data: string;
  out?: string;
  config?: TrainConfig;
  resume?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface TrainResult {
  artifactDir: string;
  history: EpochRecord[];
  bestEpoch: number;
  bestValBalancedAccuracy: number;
  imagesPerSecond: number;
}

/** Predicted class of each image with the model's current weights, through the serving inference path (validation between epochs). */
export async function predictClasses(
  tf: Tf,
  model: TF.LayersModel,
  images: Uint8Array,
  batch = 512,
): Promise<{ classes: Int32Array; confidences: Float32Array }> {
  const owned: TF.Tensor[] = [];
  const steps = compileInference(tf, model, owned);
  try {
    return await classifyInBatches((part) => runSteps(tf, steps, part), images, batch);
  } finally {
    tf.dispose(owned);
  }
}

/** The data a run trains on: every source, capped to maxTrainImages, split into train and validation. */
async function prepareData(dataSpec: string, cfg: TrainConfig) {
  let all = await loadSources(parseSources(dataSpec));
  if (cfg.maxTrainImages > 0 && all.count > cfg.maxTrainImages) {
    const keep = new Random(`${cfg.seed}:subset`)
      .shuffle(Array.from({ length: all.count }, (_, i) => i))
      .slice(0, cfg.maxTrainImages)
      .sort((a, b) => a - b);
    all = pick(all, keep);
  }
  const split = stratifiedSplit(all.labels, cfg.validationFraction, new Random(`${cfg.seed}:split`));
  return { all, split, validation: pick(all, split.val), classesPresent: classCounts(all.labels).filter((c) => c > 0).length };
}

/** What a run trains with: the model, its optimizer and training step, and the weight average. */
export interface TrainingRun {
  model: TF.LayersModel;
  optimizer: TF.Optimizer;
  step: TrainingStep;
  average?: WeightAverage;
}

/** A new model, or the one of the last checkpoint (with its optimizer moments and weight average) when resuming. */
export async function modelFor(tf: Tf, cfg: TrainConfig, resumeFrom: string | null): Promise<TrainingRun> {
  const optimizer = tf.train.adam(cfg.learningRate);
  const model = resumeFrom ? await loadCheckpointModel(tf, resumeFrom) : buildModel(tf, cfg.model, cfg.seed);
  if (!resumeFrom && cfg.initFrom) await loadInitialWeights(tf, model, cfg.initFrom);
  const step = new TrainingStep(tf, model, optimizer, cfg.labelSmoothing);
  if (resumeFrom) await restoreOptimizer(tf, resumeFrom, optimizer);
  let average: WeightAverage | undefined;
  if (cfg.emaDecay > 0) {
    const saved = resumeFrom ? await loadAveragedWeights(tf, resumeFrom) : undefined;
    average = new WeightAverage(tf, model, cfg.emaDecay, saved);
    if (saved) tf.dispose(saved);
  }
  return { model, optimizer, step, average };
}

/** Fine-tuning: the weights of the artifact `initFrom` (relative to the project root) put into the freshly built `model`. */
async function loadInitialWeights(tf: Tf, model: TF.LayersModel, initFrom: string): Promise<void> {
  await withInitialWeights(tf, model, initFrom, (weights) => model.setWeights(weights));
}

/** Runs `fn` with the weights of the artifact `initFrom`, refused unless they have `model`'s shapes. */
async function withInitialWeights(tf: Tf, model: TF.LayersModel, initFrom: string, fn: (weights: TF.Tensor[]) => void): Promise<void> {
  const dir = resolveModelDir(path.resolve(PROJECT_ROOT, initFrom));
  const source = await tf.loadLayersModel(`file://${path.join(dir, MODEL_SUBDIR, 'model.json')}`);
  try {
    const weights = source.getWeights();
    const shapes = (ws: TF.Tensor[]) => ws.map((w) => w.shape.join('x')).join(', ');
    if (shapes(weights) !== shapes(model.getWeights())) {
      throw new Error(
        `initFrom ${initFrom}: its weights (${shapes(weights)}) do not fit the configured model (${shapes(model.getWeights())}); set \`model\` in the config to the artifact's (its config.json)`,
      );
    }
    fn(weights);
  } finally {
    source.dispose();
  }
}

/** Weight extrapolation (config `extrapolate`): `model`'s weights become init + factor x (model - init). */
async function extrapolateFromInit(tf: Tf, model: TF.LayersModel, initFrom: string, factor: number): Promise<void> {
  await withInitialWeights(tf, model, initFrom, (init) => {
    const tuned = model.getWeights();
    const moved = tf.tidy(() => tuned.map((w, i) => tf.add(init[i]!, tf.mul(tf.sub(w, init[i]!), factor))));
    model.setWeights(moved);
    tf.dispose(moved);
  });
}

/** One epoch of training steps over `train` (indices into `data`); returns the mean loss and accuracy and the last learning rate. */
export async function trainEpoch(tf: Tf, run: TrainingRun, cfg: TrainConfig, data: MixedSplit, train: number[], epoch: number, progress: boolean) {
  const rng = new Random(`${cfg.seed}:epoch:${epoch}`);
  const order = sampleEpoch(train, data.labels, cfg.balanceExponent, rng, (i) => data.sources[data.source[i]!]!.weight);
  const stepsPerEpoch = Math.ceil(train.length / cfg.batchSize);
  const candidateRows = cfg.absentClassOffset > 0 ? sourceClassRows(data) : null;
  const bar = progress
    ? new SingleBar({
        format: `epoch ${epoch}/${cfg.epochs} [{bar}] {percentage}% | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
        noTTYOutput: true,
        notTTYSchedule: 10000,
        stream: process.stderr,
        etaBuffer: 50,
      })
    : null;
  bar?.start(stepsPerEpoch, 0, { loss: '-', acc: '-', ips: '-' });
  const started = Date.now();
  let lossSum = 0,
    accSum = 0,
    seen = 0,
    lr = 0;
  for (let step = 0; step < stepsPerEpoch; step++) {
    lr = learningRateAt(cfg, epoch - 1 + step / stepsPerEpoch);
    (run.optimizer as unknown as { learningRate: number }).learningRate = lr;
    const idx = order.slice(step * cfg.batchSize, (step + 1) * cfg.batchSize);
    const { x, y } = gatherBatch(data, idx);
    const xa = augmentBatch(tf, x, rng, cfg.augment);
    const { loss, accuracy } = run.step.run(
      xa,
      y,
      rng.int(0, 2 ** 31 - 1),
      candidateRows ? { rows: sourceCandidates(data, idx, candidateRows), offset: cfg.absentClassOffset } : undefined,
    );
    xa.dispose();
    run.average?.update((epoch - 1) * stepsPerEpoch + step);
    lossSum += loss * idx.length;
    accSum += accuracy * idx.length;
    seen += idx.length;
    const ips = seen / Math.max(0.001, (Date.now() - started) / 1000);
    bar?.update(step + 1, { loss: (lossSum / seen).toFixed(4), acc: (accSum / seen).toFixed(4), ips: ips.toFixed(0) });
    // trainOnBatch resolves through microtasks only; yield so timers (the progress bar) run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  bar?.stop();
  const seconds = (Date.now() - started) / 1000;
  return { loss: lossSum / seen, accuracy: accSum / seen, learningRate: lr, imagesPerSecond: seen / seconds, seconds };
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const { tf, name: backend } = loadTf();
  let cfg = opts.config ?? DEFAULT_TRAIN;
  const outDir = path.resolve(opts.out ?? path.join(ARTIFACTS_DIR, newVersion(cfg.model.architecture)));
  const last = checkpointDir(outDir, 'last'),
    best = checkpointDir(outDir, 'best');
  let state: TrainState = structuredClone(FRESH_STATE);
  if (opts.resume) {
    if (!hasCheckpoint(last)) throw new Error(`--resume: no checkpoint in ${last}`);
    cfg = readTrainConfig(outDir);
    state = readState(last);
    log(`resuming ${outDir} after epoch ${state.epoch}`);
  }
  await writeArtifactBasics(outDir);
  await writeJson(path.join(outDir, CONFIG_RECORD), cfg);

  // DATA may name several sources (`a,b:2`); their training splits are joined.
  const { all, split, validation, classesPresent } = await prepareData(opts.data, cfg);
  log(
    `data ${all.sources.map((s) => `${s.dir} (${s.kind}, ${s.images} images, weight ${s.weight})`).join(' + ')}: ${all.count} images, ${classesPresent} classes; train ${split.train.length}, validation ${split.val.length}; backend ${backend}`,
  );
  const run = await modelFor(tf, cfg, opts.resume ? last : null);
  log(`model ${cfg.model.architecture}: ${run.model.countParams().toLocaleString('en')} parameters`);
  const validate = async (model: TF.LayersModel) => computeMetrics(validation.labels, (await predictClasses(tf, model, validation.images)).classes);
  /** Runs `fn` with the weights that are validated and kept: the average when there is one, else the trained ones. */
  const withValidatedWeights = <T>(fn: () => T | Promise<T>): Promise<T> => (run.average ? run.average.withAveraged(fn) : Promise.resolve(fn()));

  let patienceLeft = cfg.earlyStoppingPatience - (state.epoch - state.bestEpoch);
  for (let e = state.epoch + 1; e <= cfg.epochs; e++) {
    const epoch = await trainEpoch(tf, run, cfg, all, split.train, e, opts.progress !== false);
    const val = await withValidatedWeights(() => validate(run.model));
    const record: EpochRecord = {
      epoch: e,
      learning_rate: epoch.learningRate,
      loss: epoch.loss,
      accuracy: epoch.accuracy,
      val_accuracy: val.accuracy,
      val_balanced_accuracy: val.balanced_accuracy,
      images_per_second: epoch.imagesPerSecond,
      seconds: epoch.seconds,
    };
    state.history.push(record);
    state.epoch = e;
    state.trainSeconds += epoch.seconds;
    log(
      `epoch ${e}: loss ${record.loss.toFixed(4)} acc ${record.accuracy.toFixed(4)} | val acc ${val.accuracy.toFixed(4)} ` +
        `balanced ${val.balanced_accuracy.toFixed(4)} | ${record.images_per_second.toFixed(0)} img/s, ${epoch.seconds.toFixed(0)} s`,
    );
    if (val.balanced_accuracy > state.bestScore) {
      state.bestScore = val.balanced_accuracy;
      state.bestEpoch = e;
      patienceLeft = cfg.earlyStoppingPatience;
      // 'best' holds the weights that were validated.
      await withValidatedWeights(() => saveCheckpoint(best, run.model, run.optimizer, state));
    } else {
      patienceLeft--;
    }
    await saveCheckpoint(last, run.model, run.optimizer, state, run.average);
    if (cfg.earlyStoppingPatience > 0 && patienceLeft <= 0) {
      log(`early stopping: no improvement for ${cfg.earlyStoppingPatience} epochs (best epoch ${state.bestEpoch})`);
      break;
    }
  }

  // The artifact's model is the best epoch's, extrapolated from its initial weights when the config says so.
  const bestModel = await loadCheckpointModel(tf, best);
  let extrapolated: TrainRecord['extrapolated'];
  if (cfg.initFrom && cfg.extrapolate !== 1) {
    await extrapolateFromInit(tf, bestModel, cfg.initFrom, cfg.extrapolate);
    const val = await validate(bestModel);
    extrapolated = { factor: cfg.extrapolate, val_balanced_accuracy: val.balanced_accuracy };
    log(`weights extrapolated from ${cfg.initFrom} by ${cfg.extrapolate}: val acc ${val.accuracy.toFixed(4)} balanced ${val.balanced_accuracy.toFixed(4)}`);
  }
  await fs.rm(path.join(outDir, MODEL_SUBDIR), { recursive: true, force: true });
  await bestModel.save(`file://${path.join(outDir, MODEL_SUBDIR)}`);
  const record = { ...trainRecord(outDir, all, split, classesPresent, backend, bestModel.countParams(), state), ...(extrapolated ? { extrapolated } : {}) };
  await writeTrainRecord(outDir, record);
  if (path.dirname(outDir) === ARTIFACTS_DIR) await pointLink(CANDIDATE, outDir);
  log(`artifact written: ${projectRelative(outDir)} (best epoch ${state.bestEpoch}, val balanced accuracy ${state.bestScore.toFixed(4)})`);
  return {
    artifactDir: outDir,
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValBalancedAccuracy: state.bestScore,
    imagesPerSecond: record.images_per_second,
  };
}

function trainRecord(
  outDir: string,
  all: MixedSplit,
  split: { train: number[]; val: number[] },
  classesPresent: number,
  backend: string,
  parameters: number,
  state: TrainState,
): TrainRecord {
  return {
    version: path.basename(outDir),
    data: {
      dir: all.sources.map((s) => s.dir).join(','),
      name: all.sources.map((s) => s.name).join('+'),
      images: all.count,
      classes_present: classesPresent,
      md5:
        all.sources.length === 1
          ? all.sources[0]!.md5
          : Object.fromEntries(all.sources.flatMap((s) => Object.entries(s.md5).map(([f, m]) => [`${s.name}/${f}`, m]))),
      sources: all.sources,
    },
    split: { train: split.train.length, validation: split.val.length },
    backend,
    git_commit: gitCommit(),
    parameters,
    best_epoch: state.bestEpoch,
    best_val_balanced_accuracy: state.bestScore,
    epochs_run: state.epoch,
    train_seconds: state.trainSeconds,
    images_per_second: state.history.reduce((a, r) => a + r.images_per_second, 0) / Math.max(1, state.history.length),
    finished_at: new Date().toISOString(),
    history: state.history,
  };
}
