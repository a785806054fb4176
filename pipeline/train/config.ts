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

export const ModelConfigSchema = z.strictObject({
  architecture: z.enum(['k49net', 'baseline']),
  /** Channels of the three convolution stages (k49net). */
  widths: triple,
  /** 3x3 convolutions in each stage (k49net). */
  convsPerStage: triple,
  /** How the last feature map meets the dense head: 'flatten' keeps the layout of the 3x3 map, 'gap' averages it. */
  head: z.enum(['flatten', 'gap']),
  denseUnits: z.number().int().positive(),
  dropout: z.number().min(0).max(0.95),
  l2: z.number().min(0),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type Architecture = ModelConfig['architecture'];

export const AugmentConfigSchema = z.strictObject({
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
  /** Probability of a random convolution of the image (RandConv; train/augment-batch.ts). */
  randConvProb: probability,
});
export type AugmentConfig = z.infer<typeof AugmentConfigSchema>;

/**
 * MixStyle (Zhou et al. 2021): in training, after the max-pool of each listed stage, with
 * probability `prob` per batch, each image's per-channel feature mean and deviation are mixed
 * with a partner image's, by lambda ~ Beta(alpha, alpha). 'cross-domain': a rendered image's
 * partner is a real image of the batch and a real image's a rendered one, so rendered glyphs of
 * every class are also seen in the feature statistics of real ink; 'random': any image of the
 * batch. Inference is unchanged (train/mix-style.ts).
 */
export const MixStyleConfigSchema = z.strictObject({
  prob: probability,
  alpha: z.number().positive(),
  stages: z.array(z.number().int().min(1).max(3)),
  partner: z.enum(['cross-domain', 'random']),
});
export type MixStyleConfig = z.infer<typeof MixStyleConfigSchema>;

export const TrainConfigSchema = z.strictObject({
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
  /**
   * After training (and extrapolation), the moving statistics of batch-normalisation layer i move
   * by share i towards those of the real sources' training images ([] = off; train/real-statistics.ts).
   */
  realStatsShare: z.array(z.number().min(0).max(1)),
  mixStyle: MixStyleConfigSchema,
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

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
  augment: { enabled: true, rotationDeg: 10, scale: [0.85, 1.1], shear: 0.2, translatePx: 2, strokeProb: 0.15, eraseProb: 0.2, levelsProb: 0, randConvProb: 0 },
  maxTrainImages: 0,
  emaDecay: 0.999,
  absentClassOffset: 0,
  initFrom: '',
  extrapolate: 1,
  realStatsShare: [],
  mixStyle: { prob: 0, alpha: 0.1, stages: [1, 2], partner: 'cross-domain' },
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

/** The recipe (`--baseline` or the default) with CONFIG=file's keys merged over it. */
export function loadTrainConfig(file: string | undefined, baseline = false): TrainConfig {
  return loadConfigFile(TrainConfigSchema, baseline ? BASELINE_TRAIN : DEFAULT_TRAIN, file, 'training config');
}

export const CONFIG_RECORD = 'config.json';

/** The config an artifact was trained with (runs from before a key existed get its neutral value). */
export function readTrainConfig(artifactDir: string): TrainConfig {
  const saved = readJson<Partial<TrainConfig>>(path.join(artifactDir, CONFIG_RECORD));
  return parseOrThrow(TrainConfigSchema, { ...saved, augment: { levelsProb: 0, randConvProb: 0, ...saved.augment }, emaDecay: saved.emaDecay ?? 0, absentClassOffset: saved.absentClassOffset ?? 0, initFrom: saved.initFrom ?? '', extrapolate: saved.extrapolate ?? 1, realStatsShare: saved.realStatsShare ?? [], mixStyle: saved.mixStyle ?? DEFAULT_TRAIN.mixStyle }, `${artifactDir}/${CONFIG_RECORD}`);
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
