/**
 * Users' corrections as training data: what /feedback/stats reports and what
 * `make feedback DATA=dir` writes (a K49-format training split plus a CSV of
 * what was corrected from what, ready for `make train DATA=dir`). The same
 * image corrected more than once counts once, with its latest label. An
 * image that may be a K49 test image (a user may well correct one: a page of
 * one of K49's source books, a test image tried in the web page) is left out
 * of the export by the leak check, as page crops are.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJson } from '../../pipeline/core/artifacts';
import { classById, NUM_CLASSES } from '../../pipeline/core/classes';
import { csvLine } from '../../pipeline/core/csv';
import { PIXELS, saveSplit } from '../../pipeline/core/dataset';
import { LEAK_CORRELATION, type LeakReference, maxCorrelations } from '../../pipeline/data/leak';
import type { FeedbackRecord } from './store';

/** One record per distinct image (by SHA-1 of its 784 bytes): the latest correction wins. */
function latestPerImage(records: FeedbackRecord[]): FeedbackRecord[] {
  const byImage = new Map<string, FeedbackRecord>();
  for (const r of [...records].sort((a, b) => a.created_at - b.created_at)) {
    byImage.delete(r.image_sha1); // re-inserted: the map keeps the order of the latest corrections
    byImage.set(r.image_sha1, r);
  }
  return [...byImage.values()];
}

export interface FeedbackStats {
  /** Every answer people gave (POST /feedback), the same image possibly more than once. */
  feedback: number;
  /** Of them, those that named another class than the model's answer... */
  corrections: number;
  /** ...and those that confirmed it. */
  confirmations: number;
  images: number;
  per_class: { class_id: number; char: string; images: number }[];
  /** Over the distinct images: how often the model's own answer differed from the correction. */
  model_error_rate: number | null;
  by_model_version: Record<string, { images: number; model_wrong: number }>;
}

export function feedbackStats(records: FeedbackRecord[]): FeedbackStats {
  const latest = latestPerImage(records);
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  const byVersion: FeedbackStats['by_model_version'] = {};
  let wrong = 0;
  for (const r of latest) {
    counts[r.class_id]!++;
    const v = (byVersion[r.model_version] ??= { images: 0, model_wrong: 0 });
    v.images++;
    if (r.model_class_id !== r.class_id) {
      wrong++;
      v.model_wrong++;
    }
  }
  const corrections = records.filter((r) => r.model_class_id !== r.class_id).length;
  return {
    feedback: records.length,
    corrections,
    confirmations: records.length - corrections,
    images: latest.length,
    per_class: counts.map((images, c) => ({ class_id: c, char: classById(c).char, images })).filter((c) => c.images > 0),
    model_error_rate: latest.length ? wrong / latest.length : null,
    by_model_version: byVersion,
  };
}

export interface FeedbackExport {
  /** Images written (distinct images, less those dropped). */
  images: number;
  feedback: number;
  corrections: number;
  dropped_as_possible_test_images: number;
  leak_correlation: number;
  leak_reference: { dir: string; images: number };
}

/**
 * Writes k49-train-imgs.npz / k49-train-labels.npz, corrections.csv (one row per image written) and
 * feedback.json (what was exported and dropped) to `outDir`.
 */
export async function exportFeedback(records: FeedbackRecord[], outDir: string, reference: LeakReference): Promise<FeedbackExport> {
  const distinct = latestPerImage(records);
  if (distinct.length === 0) throw new Error('there are no corrections yet: nothing to export (POST /feedback stores them)');
  const all = new Uint8Array(distinct.length * PIXELS);
  distinct.forEach((r, i) => {
    all.set(r.image, i * PIXELS);
  });
  const correlation = maxCorrelations(all, reference.images);
  // Each kept image with its nearest test image's correlation, for the CSV (as crops.csv has it).
  const latest = distinct.flatMap((r, i) => (correlation[i]! < LEAK_CORRELATION ? [{ ...r, test_correlation: correlation[i]! }] : []));
  if (latest.length === 0) {
    throw new Error(
      `every one of the ${distinct.length} images people labelled may be a K49 test image (correlation >= ${LEAK_CORRELATION} with one of ${reference.dir}): nothing to export`,
    );
  }
  await fs.mkdir(outDir, { recursive: true });
  const images = new Uint8Array(latest.length * PIXELS);
  const labels = new Uint8Array(latest.length);
  latest.forEach((r, i) => {
    images.set(r.image, i * PIXELS);
    labels[i] = r.class_id;
  });
  await saveSplit(outDir, 'train', { images, labels, count: latest.length });
  const header =
    'index,image_sha1,class_id,label,model_class_id,model_answer,model_confidence,model_version,task_id,filename,corrected_at,times_corrected,test_correlation';
  const times = new Map<string, number>();
  for (const r of records) times.set(r.image_sha1, (times.get(r.image_sha1) ?? 0) + 1);
  const rows = latest.map((r, i) =>
    csvLine([
      i,
      r.image_sha1,
      r.class_id,
      classById(r.class_id).char,
      r.model_class_id,
      classById(r.model_class_id).char,
      r.model_confidence,
      r.model_version,
      r.task_id,
      r.filename,
      new Date(r.created_at).toISOString(),
      times.get(r.image_sha1)!,
      r.test_correlation.toFixed(4),
    ]),
  );
  await fs.writeFile(path.join(outDir, 'corrections.csv'), `${[header, ...rows].join('\n')}\n`);
  const summary: FeedbackExport = {
    images: latest.length,
    feedback: records.length,
    corrections: records.filter((r) => r.model_class_id !== r.class_id).length,
    dropped_as_possible_test_images: distinct.length - latest.length,
    leak_correlation: LEAK_CORRELATION,
    leak_reference: { dir: reference.dir, images: reference.count },
  };
  await writeJson(path.join(outDir, 'feedback.json'), summary);
  return summary;
}
