/**
 * Every training hyperparameter, as one zod schema: the defaults, the
 * replaced system's recipe (`--baseline`), and CONFIG= files merged over
 * them. The artifact keeps the full config as `config.json`.
 */
import path from 'node:path';
import { z } from 'zod';
import { readJson } from '../core/artifacts';
import { deepMerge, loadConfigFile, parseOrThrow } from '../core/config';

const pair = z.tuple([z.number(), z.number()]);
const triple = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);
const probability = z.number().min(0).max(1);

const ModelConfigSchema = z.strictObject({
  architecture: z.enum(['k49net', 'baseline']),
  /** Channels of the three convolution stages (k49net). */
  widths: triple,
  /** 3x3 convolutions in each stage (k49net). */
  convsPerStage: triple,
  denseUnits: z.number().int().positive(),
  dropout: z.number().min(0).max(0.95),
  l2: z.number().min(0),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

const AugmentConfigSchema = z.strictObject({
  enabled: z.boolean(),
  rotationDeg: z.number().min(0),
  scale: pair,
  shear: z.number().min(0),
  translatePx: z.number().min(0),
  /** Probability of thickening and of thinning the strokes (each). */
  strokeProb: probability,
  eraseProb: probability,
  /**
   * Probability of a levels stretch: the image's grey levels between a random
   * low and high point (fractions of its brightest pixel) stretched to 0..1.
   * Rendered strokes are softer and greyer than the crisp ink of real scans.
   */
  levelsProb: probability,
});
export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;

const TrainConfigSchema = z.strictObject({
  seed: z.number().int(),
  model: ModelConfigSchema,
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  learningRate: z.number().positive(),
  minLearningRate: z.number().min(0),
  warmupEpochs: z.number().min(0),
  schedule: z.enum(['cosine', 'constant']),
  labelSmoothing: z.number().min(0).max(1),
  validationFraction: z.number().min(0).max(0.9),
  /** Stop when validation balanced accuracy has not improved for this many epochs (0 = never). */
  earlyStoppingPatience: z.number().int().min(0),
  /**
   * Class-balanced sampling: each epoch draws training images with weight
   * n_class^-exponent (0 = natural frequencies, 1 = every class equally often).
   */
  balanceExponent: z.number().min(0).max(1),
  augment: AugmentConfigSchema,
  /** Cap on training images (0 = all); for smoke runs. */
  maxTrainImages: z.number().int().min(0),
  /**
   * Exponential moving average of the weights, updated after every step
   * (0 = off). Validation, early stopping and the artifact use the averaged
   * weights, which swing less from epoch to epoch (figures in the bundled
   * model's card).
   */
  emaDecay: z.number().min(0).max(1),
  /**
   * In each image's loss, the logits of the classes its source does not hold
   * are lowered by this much (0 = plain softmax over 49; 1e4 = softmax over
   * the source's classes only). A synthetic set holds all 49; kmnist-real
   * holds 10, and with 0 its real images teach "looks real, so it is one of
   * these 10": ../shared/notes/real-data-shortcut.md, the bundled model's card.
   */
  absentClassOffset: z.number().min(0),
  /**
   * Artifact whose weights start the run (fine-tuning; '' = fresh weights),
   * relative to the project root. Its layers must have the shapes `model` makes.
   */
  initFrom: z.string(),
  /**
   * With initFrom, the artifact's weights are init + extrapolate x (fine-tuned - init): 1 keeps the
   * fine-tuned weights; above 1 goes further along the fine-tuning direction (weight extrapolation).
   */
  extrapolate: z.number().min(0).max(2),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/**
 * The base every CONFIG= file is merged over, and `make train` without one: one convolution per
 * stage, sized for a quick run on two cores. The bundled model is not this: its recipe is
 * configs/default-synth.json (the synthetic-only starting model) then configs/finetune-real.json,
 * each merged over this base (its card gives the commands; a structure test holds the second).
 */
export const DEFAULT_TRAIN: TrainConfig = {
  seed: 42,
  model: { architecture: 'k49net', widths: [32, 64, 128], convsPerStage: [1, 1, 1], denseUnits: 256, dropout: 0.3, l2: 1e-4 },
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
  augment: { enabled: true, rotationDeg: 10, scale: [0.85, 1.1], shear: 0.2, translatePx: 2, strokeProb: 0.15, eraseProb: 0.2, levelsProb: 0 },
  maxTrainImages: 0,
  emaDecay: 0.999,
  absentClassOffset: 0,
  initFrom: '',
  extrapolate: 1,
};

/** The replaced system's recipe: 2 conv + FC128, Adam, 12 epochs, no augmentation, natural sampling. */
export const BASELINE_TRAIN: TrainConfig = {
  ...DEFAULT_TRAIN,
  model: { architecture: 'baseline', widths: [32, 64, 128], convsPerStage: [1, 1, 1], denseUnits: 128, dropout: 0, l2: 0 },
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

/** The recipe (`--baseline` or the default) with CONFIG=file's keys merged over it. */
export function loadTrainConfig(file: string | undefined, baseline = false): TrainConfig {
  return loadConfigFile(TrainConfigSchema, baseline ? BASELINE_TRAIN : DEFAULT_TRAIN, file, 'training config');
}

export const CONFIG_RECORD = 'config.json';

/**
 * The config an artifact was trained with. Runs from before a key existed get its neutral value;
 * records written before 2026-12-05 also name `model.head: 'flatten'`, the one head there is.
 */
export function readTrainConfig(artifactDir: string): TrainConfig {
  const saved = readJson<Partial<TrainConfig> & { model?: { head?: string } }>(path.join(artifactDir, CONFIG_RECORD));
  const { head, ...model } = saved.model ?? {};
  if (head !== undefined && head !== 'flatten')
    throw new Error(`${artifactDir}/${CONFIG_RECORD}: model.head '${head}' is no longer supported (only 'flatten')`);
  return parseOrThrow(
    TrainConfigSchema,
    {
      ...saved,
      model,
      augment: { levelsProb: 0, ...saved.augment },
      emaDecay: saved.emaDecay ?? 0,
      absentClassOffset: saved.absentClassOffset ?? 0,
      initFrom: saved.initFrom ?? '',
      extrapolate: saved.extrapolate ?? 1,
    },
    `${artifactDir}/${CONFIG_RECORD}`,
  );
}

/** `override`'s keys (a partial config, e.g. from a test) merged over `base`, checked like a CONFIG= file. */
export function mergeTrainConfig(base: TrainConfig, override: Record<string, unknown>): TrainConfig {
  return parseOrThrow(TrainConfigSchema, deepMerge(base, override), 'training config');
}

/** Learning rate at `progress` epochs into training: linear warm-up, then constant or cosine decay. */
export function learningRateAt(cfg: TrainConfig, progress: number): number {
  if (progress < cfg.warmupEpochs) return cfg.learningRate * Math.max(0.05, progress / cfg.warmupEpochs);
  if (cfg.schedule === 'constant') return cfg.learningRate;
  const t = (progress - cfg.warmupEpochs) / Math.max(1e-9, cfg.epochs - cfg.warmupEpochs);
  return cfg.minLearningRate + 0.5 * (cfg.learningRate - cfg.minLearningRate) * (1 + Math.cos(Math.PI * Math.min(1, t)));
}
