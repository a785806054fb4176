/**
 * `k49 evaluate`: runs an artifact on a K49-format test split (only
 * `k49-test-imgs.npz` and `k49-test-labels.npz` are needed), or on a train
 * split the model never trained on (`split: 'train'`), and writes
 * metrics.json, a classification report, the confusion matrix (PNG and
 * interactive HTML), the most confused pairs, a gallery of misclassified
 * images and predictions.json, from which every figure can be recounted.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pointLink, resolveModelDir, writeJson } from '../core/artifacts';
import { md5File } from '../core/checksum';
import { K49_CLASSES } from '../core/classes';
import { hasSplit, loadSplit, PIXELS, type Split, splitFiles } from '../core/dataset';
import { K49Classifier } from '../core/inference';
import { balancedAccuracyInterval, classificationReport, computeMetrics, type GroupFigure, groupFigures, mostConfused } from '../core/metrics';
import { CANDIDATE, fromProject, LATEST, OFFICIAL_DATA_DIR, projectRelative, REPORTS_DIR } from '../core/paths';
import { classesWithRealImages, type EvalRecord, readEvalRecord, readTrainRecord, writeEvalRecord } from '../core/records';
import { confusionPng, galleryPng } from '../report/images';
import { confusionMatrixPage } from '../report/plotly';
import { writeModelCard } from './model-card';

export interface EvaluateOptions {
  data?: string;
  model?: string;
  out?: string;
  /**
   * 'train' evaluates DATA's train split, for a model that never trained on it: e.g. how well a
   * synthetic-only model reads the real images of ../shared/data/kmnist-real (its test split is a copy of
   * real-sample images, test data). Refused for a model whose training sources include DATA.
   */
  split?: Split;
  /**
   * Write the evaluation into the artifact as its own record: its card lists it, and `latest` moves to it
   * when it is the artifact's own data set. Without it, only an artifact that has no record yet (fresh from
   * `make train`) gets one; any other evaluation writes to reports/ and leaves the artifact as it is.
   */
  record?: boolean;
  log?: (line: string) => void;
}

export interface PredictionRecord {
  index: number;
  true_class: number;
  predicted_class: number;
  confidence: number;
}

/** The directories the model was trained on (its training record's sources), as absolute paths. */
function trainingDataDirs(modelDir: string): string[] {
  return readTrainRecord(modelDir).data.dir.split(',').map(fromProject);
}

function defaultTestDir(modelDir: string): string {
  const candidates = [OFFICIAL_DATA_DIR];
  try {
    candidates.push(...trainingDataDirs(modelDir));
  } catch {
    /* no training record: only data/k49 */
  }
  const found = candidates.find((d) => hasSplit(d, 'test'));
  if (!found) throw new Error(`No test split found (looked in ${candidates.join(', ')}); pass DATA=<dir with k49-test-imgs.npz and k49-test-labels.npz>.`);
  return found;
}

/** A model's figure on images it trained on says nothing about new images: refused rather than recorded. */
function refuseOwnTrainingData(modelDir: string, dataDir: string): void {
  if (trainingDataDirs(modelDir).includes(dataDir))
    throw new Error(
      `${projectRelative(modelDir)} was trained on ${projectRelative(dataDir)}: its train split is not new to this model; evaluate it on a test split instead.`,
    );
}

/**
 * Where an evaluation's reports go: OUT when given; into the artifact when recording (RECORD=1, or an
 * artifact with no record yet): its root for its own data set's test split, else `eval-<data>[-train]/`;
 * otherwise reports/<artifact>/<data>[-train]/, outside the artifact, so a user's evaluation never
 * rewrites a committed model's record (what its card and /health state).
 */
function reportDir(modelDir: string, dataDir: string, split: Split, opts: EvaluateOptions): string {
  if (opts.out) return path.resolve(opts.out);
  const name = `${path.basename(dataDir)}${split === 'train' ? '-train' : ''}`;
  const own = readEvalRecord(modelDir);
  if (!opts.record && own) return path.join(REPORTS_DIR, path.basename(modelDir), name);
  const ownDataSet = split === 'test' && (!own || own.data.name === path.basename(dataDir));
  return ownDataSet ? modelDir : path.join(modelDir, `eval-${name}`);
}

export async function evaluate(opts: EvaluateOptions) {
  const log = opts.log ?? ((l: string) => console.log(l));
  const modelDir = resolveModelDir(opts.model);
  const split = opts.split ?? 'test';
  const dataDir = path.resolve(opts.data ?? defaultTestDir(modelDir));
  const f = splitFiles(split);
  if (!hasSplit(dataDir, split)) throw new Error(`${dataDir} needs ${f.images} and ${f.labels} to evaluate on.`);
  if (split === 'train') refuseOwnTrainingData(modelDir, dataDir);
  const outDir = reportDir(modelDir, dataDir, split, opts);
  const recorded = outDir === modelDir || path.dirname(outDir) === modelDir;
  await fs.mkdir(outDir, { recursive: true });

  const test = await loadSplit(dataDir, split);
  const classifier = await K49Classifier.load(modelDir);
  const started = Date.now();
  const { classes: predicted, confidences: confidence } = await classifier.classify(test.images);
  const seconds = (Date.now() - started) / 1000;
  const metrics = computeMetrics(test.labels, predicted);
  const interval = balancedAccuracyInterval(metrics);
  // Per group, when the model records its training sources (which classes had real images).
  const { sources } = readTrainRecord(modelDir).data;
  const groups = sources ? groupFigures(metrics, classesWithRealImages(sources)) : null;
  const dataInfo = {
    dir: projectRelative(dataDir),
    name: path.basename(dataDir),
    ...(split === 'train' ? { split } : {}),
    images: test.count,
    md5: { [f.images]: await md5File(path.join(dataDir, f.images)), [f.labels]: await md5File(path.join(dataDir, f.labels)) },
  };
  const record: EvalRecord = {
    model_version: classifier.info.version,
    data: dataInfo,
    accuracy: metrics.accuracy,
    balanced_accuracy: metrics.balanced_accuracy,
    balanced_accuracy_ci95: interval,
    ...(groups ? { groups } : {}),
    classes_present: metrics.classes_present,
    macro_f1: metrics.macro_f1,
    count: metrics.count,
    per_class: metrics.per_class,
    confusion: metrics.confusion,
  };
  await writeEvalRecord(outDir, record);
  const predictions: PredictionRecord[] = Array.from(predicted, (p, i) => ({
    index: i,
    true_class: test.labels[i]!,
    predicted_class: p,
    // 4 places: the last digits of a float differ between CPUs' kernels; these do not.
    confidence: Number(confidence[i]!.toFixed(4)),
  }));
  await writeJson(path.join(outDir, 'predictions.json'), predictions);
  await fs.writeFile(path.join(outDir, 'classification_report.txt'), classificationReport(metrics));
  const pairs = mostConfused(metrics);
  await writeJson(path.join(outDir, 'confused_pairs.json'), pairs);

  const chars = K49_CLASSES.map((c) => c.char);
  const title = `${classifier.info.version} on ${dataInfo.name}`;
  await fs.writeFile(path.join(outDir, 'confusion_matrix.png'), confusionPng(metrics.confusion, chars, title));
  const summary = `Accuracy ${metrics.accuracy.toFixed(4)}, balanced accuracy ${metrics.balanced_accuracy.toFixed(4)} over ${metrics.classes_present} classes present, ${metrics.count} images.`;
  await fs.writeFile(path.join(outDir, 'confusion_matrix.html'), confusionMatrixPage(`Confusion matrix: ${title}`, summary, metrics.confusion, chars));
  const wrong = predictions
    .filter((p) => p.predicted_class !== p.true_class)
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, 100);
  await fs.writeFile(
    path.join(outDir, 'misclassified.png'),
    galleryPng(
      wrong.map((p) => test.images.subarray(p.index * PIXELS, (p.index + 1) * PIXELS)),
      wrong.map((p) => `${chars[p.true_class]}→${chars[p.predicted_class]} ${(p.confidence * 100).toFixed(0)}%`),
    ),
  );

  if (recorded) {
    // Only artifacts kept under artifacts/ become `latest` (not scratch runs elsewhere).
    if (outDir === modelDir && path.dirname(modelDir) === path.dirname(path.resolve(LATEST))) {
      await pointLink(LATEST, modelDir);
      if (existsSync(CANDIDATE) && path.resolve(path.dirname(CANDIDATE), await fs.readlink(CANDIDATE)) === modelDir) await fs.rm(CANDIDATE);
    }
    await writeModelCard(modelDir);
  }

  log(`model      ${classifier.info.version}`);
  log(`data       ${projectRelative(dataDir)} (${split === 'train' ? 'train split, ' : ''}${test.count} images, ${metrics.classes_present} classes present)`);
  log(`inference  ${seconds.toFixed(2)} s (${Math.round(test.count / Math.max(seconds, 1e-3))} img/s)`);
  log(`accuracy           ${metrics.accuracy.toFixed(4)}`);
  log(
    `balanced accuracy  ${metrics.balanced_accuracy.toFixed(4)}  (mean recall over classes present; 95% bootstrap interval ${interval[0].toFixed(3)}-${interval[1].toFixed(3)})`,
  );
  log(`macro F1           ${metrics.macro_f1.toFixed(4)}`);
  if (groups) {
    const line = (g: GroupFigure) =>
      g.mean_recall === null
        ? 'none present'
        : `${g.mean_recall.toFixed(4)} over ${g.classes.length} classes${g.ci95 ? ` (95% bootstrap interval ${g.ci95[0].toFixed(3)}-${g.ci95[1].toFixed(3)})` : ''}`;
    log(`mean recall, classes with labelled real training images     ${line(groups.real_training_images)}`);
    log(`mean recall, classes without labelled real training images  ${line(groups.no_real_training_images)}`);
  }
  log(
    `reports in ${projectRelative(outDir)}: metrics.json classification_report.txt confusion_matrix.{png,html} confused_pairs.json misclassified.png predictions.json`,
  );
  if (!recorded && !opts.out) log(`the artifact's own record is unchanged (RECORD=1 writes this evaluation into ${projectRelative(modelDir)})`);
  return { metrics, outDir, modelDir };
}
