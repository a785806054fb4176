/**
 * MODEL_CARD.md, regenerated from what the artifact records (training record,
 * config, every evaluation found in the artifact) plus optional hand-written
 * notes in NOTES.md, so the card never states a figure that was not measured.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { K49_CLASSES } from '../core/classes';
import { BOOTSTRAP_RESAMPLES, type GroupFigure } from '../core/metrics';
import { classesOfKind, classesWithRealImages, type EvalRecord, readEvalRecords, readTrainRecord, type SourceRecord } from '../core/records';
import { readTrainConfig } from '../train/config';
import { describeArchitecture } from '../train/model';

/** The commit a model was trained from, in words: a `-dirty` suffix means uncommitted changes to its code or configs. */
function describeCommit(commit: string | null): string {
  if (!commit) return 'git commit unknown';
  const sha = commit.replace(/-dirty$/, '');
  return sha === commit
    ? `git commit ${sha}`
    : `git commit ${sha}, with changes not yet committed in the working tree at the time (\`config.json\` holds the configuration used)`;
}

/** Each training source, and per class whether real images labelled by people, or by a model only, were among its training data. */
function sourceLines(sources: SourceRecord[] | undefined): string[] {
  if (!sources) return ['- Training sources: not recorded (trained before several sources could be mixed); real images per class unknown.'];
  const real = classesWithRealImages(sources);
  const pseudo = new Set([...classesOfKind(sources, 'pseudo-labelled')].filter((c) => !real.has(c)));
  const chars = (member: (c: number) => boolean) =>
    K49_CLASSES.filter((c) => member(c.index))
      .map((c) => c.char)
      .join(' ');
  const synthOnly = (c: number) => !real.has(c) && !pseudo.has(c);
  return [
    ...sources.map((s) => `- Source \`${s.dir}\`: ${s.kind}, ${s.images.toLocaleString('en')} images, sampling weight ${s.weight}.`),
    `- Classes with real training images labelled by people (${real.size}): ${chars((c) => real.has(c)) || 'none'}.`,
    ...(pseudo.size > 0 ? [`- Classes whose real training images were labelled by a model only (${pseudo.size}): ${chars((c) => pseudo.has(c))}.`] : []),
    `- Classes trained on synthetic images only (${K49_CLASSES.filter((c) => synthOnly(c.index)).length}): ${chars(synthOnly) || 'none'}.`,
  ];
}

/** The evaluated data as the card names it: its name, and the split when it was a train split. */
const evaluatedOn = (e: EvalRecord) => `\`${e.data.name}\`${e.data.split ? ` (${e.data.split} split)` : ''}`;

/** Per-group figures of the evaluations that have them. */
function groupLines(evals: { record: EvalRecord }[]): string[] {
  const fig = (g: GroupFigure) =>
    g.mean_recall === null
      ? 'none present'
      : `${g.mean_recall.toFixed(4)} (${g.classes.length} classes${g.ci95 ? `; 95 % interval ${g.ci95[0].toFixed(3)}-${g.ci95[1].toFixed(3)}` : ''})`;
  return evals
    .filter(({ record }) => record.groups)
    .map(
      ({ record: m }) =>
        `- On ${evaluatedOn(m)}: mean recall ${fig(m.groups!.real_training_images)} over the classes with labelled real training images, ${fig(m.groups!.no_real_training_images)} over the others; accuracy ${m.accuracy.toFixed(4)}.`,
    )
    .flatMap((l, i) => (i === 0 ? ['', l] : [l]));
}

export async function writeModelCard(dir: string): Promise<void> {
  const train = readTrainRecord(dir);
  const cfg = readTrainConfig(dir);
  const evals = readEvalRecords(dir);
  const notes = existsSync(path.join(dir, 'NOTES.md')) ? await fs.readFile(path.join(dir, 'NOTES.md'), 'utf8') : '';
  const lines = [
    `# Model card: ${train.version}`,
    '',
    '## Data',
    `- Trained on \`${train.data.name}\` (${train.data.images.toLocaleString('en')} images, ${train.data.classes_present} classes; ` +
      `${train.split.train.toLocaleString('en')} train / ${train.split.validation.toLocaleString('en')} validation, stratified).`,
    `- Data fingerprints (md5): ${Object.entries(train.data.md5)
      .map(([f, h]) => `\`${f}\` ${h}`)
      .join(', ')}.`,
    ...sourceLines(train.data.sources),
    '',
    '## Architecture',
    `- ${describeArchitecture(cfg.model)}`,
    `- ${train.parameters.toLocaleString('en')} parameters. Inference folds batch normalisation into the convolutions and runs one fused native op per layer (pipeline/core/inference.ts).`,
    '',
    '## Training',
    `- Adam, learning rate ${cfg.learningRate} (${cfg.schedule}${cfg.schedule === 'cosine' ? ` to ${cfg.minLearningRate}` : ''}, warm-up ${cfg.warmupEpochs} epoch), batch ${cfg.batchSize}, ` +
      `label smoothing ${cfg.labelSmoothing}, class-balanced sampling exponent ${cfg.balanceExponent}, augmentation ${cfg.augment.enabled ? 'on' : 'off'}, seed ${cfg.seed}.`,
    ...(cfg.initFrom ? [`- Fine-tuned: started from the weights of \`${cfg.initFrom}\` (see its own card for how that model was trained).`] : []),
    ...(train.extrapolated
      ? [
          `- Weight extrapolation: the saved weights are the initial ones plus ${train.extrapolated.factor} x the change fine-tuning made to them (\`extrapolate\`); ` +
            `validation balanced accuracy ${train.extrapolated.val_balanced_accuracy.toFixed(4)} after it.`,
        ]
      : []),
    ...(cfg.absentClassOffset > 0
      ? [
          `- Source-class loss: in each image's loss, the logits of the classes its source does not hold were lowered by ${cfg.absentClassOffset} (\`absentClassOffset\`), so a source of real images of a few classes does not teach "real-looking means one of these".`,
        ]
      : []),
    `- ${train.epochs_run} epochs run (max ${cfg.epochs}), best epoch ${train.best_epoch} by validation balanced accuracy ${train.best_val_balanced_accuracy.toFixed(4)}.`,
    `- ${(train.train_seconds / 60).toFixed(1)} min on backend \`${train.backend}\`, ${train.images_per_second.toFixed(0)} training images/s; ${describeCommit(train.git_commit)}.`,
    '- Full configuration: `config.json`.',
    '',
    '## Measured results',
    '',
    '| evaluated on | images | classes present | accuracy | balanced accuracy | 95 % interval | macro F1 | reports |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...evals.map(
      ({ where, record: e }) =>
        `| ${evaluatedOn(e)} | ${e.data.images.toLocaleString('en')} | ${e.classes_present} | ${e.accuracy.toFixed(4)} | ${e.balanced_accuracy.toFixed(4)} | ${
          e.balanced_accuracy_ci95 ? e.balanced_accuracy_ci95.map((v) => v.toFixed(3)).join(' - ') : 'not recorded'
        } | ${e.macro_f1.toFixed(4)} | \`${where}/\` |`,
    ),
    ...groupLines(evals),
    '',
    'Balanced accuracy is the mean per-class recall over the classes present in the evaluated set, as in the K49 literature. ' +
      `The 95 % interval is a class-stratified bootstrap (${BOOTSTRAP_RESAMPLES.toLocaleString('en')} resamples of each class's images): on a set where many classes hold only a few images, it shows how much of a difference between two models is luck.`,
    '',
    notes.trim(),
    '',
    '## Known limits',
    '- The model reads one character: a 28x28 K49-style crop, to which the service preprocessing crops and fits any image. Whole pages go through the page reader first (`POST /pages`, `k49 read`), which finds the characters (its cuts judged by the model); several characters in one image, or strongly cluttered backgrounds, are out of scope.',
    '- Classes with few training images remain the weakest; see `classification_report.txt`.',
    '',
    'Kuzushiji-49 is by ROIS-DS Center for Open Data in the Humanities (CODH), CC BY-SA 4.0: Clanuwat et al., "Deep Learning for Classical Japanese Literature", arXiv:1812.01718 (2018).',
    '',
  ];
  await fs.writeFile(path.join(dir, 'MODEL_CARD.md'), lines.join('\n'));
}
