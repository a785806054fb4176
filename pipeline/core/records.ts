/**
 * The records an artifact keeps about itself, typed, with their one reader
 * and writer each: `train.json` (what it was trained on and how training
 * went) and `metrics.json` (one evaluation; an artifact may hold several, one
 * per sub-folder). Training writes TrainRecord, evaluation writes EvalRecord;
 * the model card, the classifier (/health) and evaluation read them here.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readJson, writeJson } from './artifacts';
import type { GroupFigure, Metrics } from './metrics';

const TRAIN_RECORD = 'train.json';
const EVAL_RECORD = 'metrics.json';

/** Rendered from fonts; real images labelled by people; real images labelled by a model (`k49 pseudo-label`). */
export type SourceKind = 'synthetic' | 'real' | 'pseudo-labelled';

/** What the training record keeps of each data source. */
export interface SourceRecord {
  /** Relative to the project. */
  dir: string;
  name: string;
  kind: SourceKind;
  weight: number;
  images: number;
  /** Training images per class id (49). */
  class_counts: number[];
  md5: Record<string, string>;
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

export interface TrainRecord {
  version: string;
  data: {
    /** Every source's dir, relative to the project, joined by commas. */
    dir: string;
    name: string;
    images: number;
    classes_present: number;
    /** File -> md5 (one source), or `source/file` -> md5 (several). */
    md5: Record<string, string>;
    /** Absent in records written before several sources could be mixed. */
    sources?: SourceRecord[];
  };
  split: { train: number; validation: number };
  backend: string;
  git_commit: string | null;
  parameters: number;
  best_epoch: number;
  best_val_balanced_accuracy: number;
  /** Present when the saved weights were extrapolated from initFrom (config `extrapolate`): the factor and their validation figure. */
  extrapolated?: { factor: number; val_balanced_accuracy: number };
  epochs_run: number;
  train_seconds: number;
  images_per_second: number;
  finished_at: string;
  history: EpochRecord[];
}

export interface GroupFigures {
  real_training_images: GroupFigure;
  no_real_training_images: GroupFigure;
}

/** One evaluation. Results only, no time or duration: evaluating again on the same data rewrites it byte for byte. */
export interface EvalRecord extends Pick<Metrics, 'accuracy' | 'balanced_accuracy' | 'classes_present' | 'macro_f1' | 'count' | 'per_class' | 'confusion'> {
  model_version: string;
  /** `split` is present when the images were a train split the model never trained on (absent: the test split). */
  data: { dir: string; name: string; split?: 'train'; images: number; md5: Record<string, string> };
  /** Absent in evaluations written before the interval was recorded. */
  balanced_accuracy_ci95?: [number, number];
  /** Present when the model records its training sources. */
  groups?: GroupFigures;
}

export function readTrainRecord(artifactDir: string): TrainRecord {
  return readJson<TrainRecord>(path.join(artifactDir, TRAIN_RECORD));
}

export function writeTrainRecord(artifactDir: string, record: TrainRecord): Promise<void> {
  return writeJson(path.join(artifactDir, TRAIN_RECORD), record);
}

/** The evaluation kept in `dir` itself, or null when it has none. */
export function readEvalRecord(dir: string): EvalRecord | null {
  const file = path.join(dir, EVAL_RECORD);
  return existsSync(file) ? readJson<EvalRecord>(file) : null;
}

export function writeEvalRecord(dir: string, record: EvalRecord): Promise<void> {
  return writeJson(path.join(dir, EVAL_RECORD), record);
}

/** Every evaluation of an artifact: its own (`.`) and those in its sub-folders (e.g. `eval-synth-test`). */
export function readEvalRecords(artifactDir: string): { where: string; record: EvalRecord }[] {
  const found: { where: string; record: EvalRecord }[] = [];
  const own = readEvalRecord(artifactDir);
  if (own) found.push({ where: '.', record: own });
  for (const sub of readdirSync(artifactDir, { withFileTypes: true })) {
    const record = sub.isDirectory() ? readEvalRecord(path.join(artifactDir, sub.name)) : null;
    if (record) found.push({ where: sub.name, record });
  }
  return found;
}

/**
 * Class ids that had real training images labelled by people, from an artifact's source records: the group
 * the figures call "with real training images". Pseudo-labelled real images do not count: their labels are a model's.
 */
export function classesWithRealImages(sources: SourceRecord[]): Set<number> {
  return classesOfKind(sources, 'real');
}

/** Class ids that had training images in a source of `kind`. */
export function classesOfKind(sources: SourceRecord[], kind: SourceKind): Set<number> {
  const out = new Set<number>();
  for (const s of sources)
    if (s.kind === kind)
      s.class_counts.forEach((n, c) => {
        if (n > 0) out.add(c);
      });
  return out;
}
