/**
 * Classification metrics as the K49 literature reports them: balanced
 * accuracy is the mean per-class recall over the classes present in the
 * evaluated labels.
 */
import { K49_CLASSES, NUM_CLASSES } from './classes';
import { Random } from './random';

interface ClassMetrics {
  class_id: number;
  char: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Metrics {
  count: number;
  accuracy: number;
  balanced_accuracy: number;
  classes_present: number;
  macro_f1: number;
  per_class: ClassMetrics[];
  /** confusion[true][predicted] */
  confusion: number[][];
}

export function computeMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): Metrics {
  const confusion = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    confusion[labels[i]!]![predictions[i]!]!++;
    if (labels[i] === predictions[i]) correct++;
  }
  const per_class = K49_CLASSES.map((c) => {
    const tp = confusion[c.index]![c.index]!;
    const support = confusion[c.index]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c.index]!, 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class_id: c.index, char: c.char, precision, recall, f1, support };
  });
  const present = per_class.filter((c) => c.support > 0);
  return {
    count: labels.length,
    accuracy: labels.length > 0 ? correct / labels.length : 0,
    balanced_accuracy: present.length > 0 ? present.reduce((a, c) => a + c.recall, 0) / present.length : 0,
    classes_present: present.length,
    macro_f1: present.length > 0 ? present.reduce((a, c) => a + c.f1, 0) / present.length : 0,
    per_class,
    confusion,
  };
}

/** Bootstrap resamples behind `balancedAccuracyInterval` (the model card states it). */
export const BOOTSTRAP_RESAMPLES = 2000;

/**
 * 95 % interval of the balanced accuracy by a class-stratified bootstrap:
 * each class's images are resampled with replacement, so the interval shows
 * how far the figure moves with the luck of which images were drawn. On a
 * set where many classes hold one to five images (the real sample), one
 * image is worth several points, and this says so next to the figure.
 * Resampling a class's images only depends on its support and recall, so it
 * works from the computed metrics. Seeded, so a report is reproducible.
 */
export function balancedAccuracyInterval(m: Metrics, resamples = BOOTSTRAP_RESAMPLES, seed = 'bootstrap'): [number, number] {
  return meanRecallInterval(m, () => true, resamples, seed);
}

/** The same bootstrap over the present classes that `include` accepts (a group's mean recall). */
function meanRecallInterval(m: Metrics, include: (classId: number) => boolean, resamples = BOOTSTRAP_RESAMPLES, seed = 'bootstrap'): [number, number] {
  const present = m.per_class.filter((c) => c.support > 0 && include(c.class_id));
  if (present.length === 0) return [0, 0];
  const rng = new Random(seed);
  const estimates: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (const { support, recall } of present) {
      let correct = 0;
      for (let k = 0; k < support; k++) if (rng.float() < recall) correct++;
      sum += correct / support;
    }
    estimates.push(sum / present.length);
  }
  estimates.sort((a, b) => a - b);
  const at = (q: number) => estimates[Math.round(q * (resamples - 1))]!;
  return [at(0.025), at(0.975)];
}

/** A text table in the layout of scikit-learn's classification_report (classes present only). */
export function classificationReport(m: Metrics): string {
  const rows = m.per_class.filter((c) => c.support > 0);
  const f = (v: number) => v.toFixed(4).padStart(10);
  const lines = [`${'class'.padStart(12)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1-score'.padStart(10)}${'support'.padStart(10)}`, ''];
  for (const c of rows) {
    lines.push(`${`${c.class_id} ${c.char}`.padStart(12)}${f(c.precision)}${f(c.recall)}${f(c.f1)}${String(c.support).padStart(10)}`);
  }
  const mean = (k: 'precision' | 'recall' | 'f1') => rows.reduce((a, c) => a + c[k], 0) / rows.length;
  const total = rows.reduce((a, c) => a + c.support, 0);
  const weighted = (k: 'precision' | 'recall' | 'f1') => rows.reduce((a, c) => a + c[k] * c.support, 0) / total;
  lines.push('');
  lines.push(`${'accuracy'.padStart(12)}${''.padStart(20)}${f(m.accuracy)}${String(total).padStart(10)}`);
  lines.push(`${'macro avg'.padStart(12)}${f(mean('precision'))}${f(mean('recall'))}${f(mean('f1'))}${String(total).padStart(10)}`);
  lines.push(`${'weighted avg'.padStart(12)}${f(weighted('precision'))}${f(weighted('recall'))}${f(weighted('f1'))}${String(total).padStart(10)}`);
  lines.push('');
  lines.push(`balanced accuracy (mean recall over ${rows.length} classes present): ${m.balanced_accuracy.toFixed(4)}`);
  return `${lines.join('\n')}\n`;
}

/** One off-diagonal cell of the confusion matrix (confused_pairs.json). */
export interface ConfusedPair {
  true_id: number;
  true_char: string;
  predicted_id: number;
  predicted_char: string;
  count: number;
  share_of_true: number;
}

/** The most frequent off-diagonal (true, predicted) pairs. */
export function mostConfused(m: Metrics, top = 20): ConfusedPair[] {
  const pairs: ConfusedPair[] = [];
  m.confusion.forEach((row, t) => {
    row.forEach((n, p) => {
      if (t !== p && n > 0) {
        pairs.push({
          true_id: t,
          true_char: K49_CLASSES[t]!.char,
          predicted_id: p,
          predicted_char: K49_CLASSES[p]!.char,
          count: n,
          share_of_true: n / m.per_class[t]!.support,
        });
      }
    });
  });
  return pairs.sort((a, b) => b.count - a.count).slice(0, top);
}

export interface GroupFigure {
  /** Class ids of the group that are present in the evaluated set. */
  classes: number[];
  /** Mean recall over them (null when none is present). */
  mean_recall: number | null;
  /** Its 95 % class-stratified bootstrap interval (null when none is present; absent in records written before it was kept). */
  ci95?: [number, number] | null;
}

/**
 * Mean recall over the classes that had real training images labelled by
 * people and over the others: on a sample where a few classes hold most images and many hold
 * 1-6, the balanced accuracy alone hides which group a model is good at.
 */
export function groupFigures(m: Metrics, withReal: Set<number>): { real_training_images: GroupFigure; no_real_training_images: GroupFigure } {
  const group = (inGroup: boolean): GroupFigure => {
    const member = (classId: number) => withReal.has(classId) === inGroup;
    const present = m.per_class.filter((c) => c.support > 0 && member(c.class_id));
    if (present.length === 0) return { classes: [], mean_recall: null, ci95: null };
    return {
      classes: present.map((c) => c.class_id),
      mean_recall: present.reduce((a, c) => a + c.recall, 0) / present.length,
      ci95: meanRecallInterval(m, member),
    };
  };
  return { real_training_images: group(true), no_real_training_images: group(false) };
}
