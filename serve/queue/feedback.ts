/**
 * Users' corrections as training data: what /feedback/stats reports and what
 * `make feedback OUT=dir` writes (a K49-format training split plus a CSV of
 * what was corrected from what, ready for `make train DATA=dir`). The same
 * image corrected more than once counts once, with its latest label.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { classById, NUM_CLASSES } from '../../pipeline/core/classes';
import { PIXELS, saveSplit } from '../../pipeline/core/dataset';
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

const csvCell = (v: string | number | null) => (v === null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/** Writes k49-train-imgs.npz / k49-train-labels.npz and corrections.csv to `outDir`; returns how many images. */
export async function exportFeedback(records: FeedbackRecord[], outDir: string): Promise<{ images: number; feedback: number; corrections: number }> {
  const latest = latestPerImage(records);
  if (latest.length === 0) throw new Error('there are no corrections yet: nothing to export (POST /feedback stores them)');
  await fs.mkdir(outDir, { recursive: true });
  const images = new Uint8Array(latest.length * PIXELS);
  const labels = new Uint8Array(latest.length);
  latest.forEach((r, i) => {
    images.set(r.image, i * PIXELS);
    labels[i] = r.class_id;
  });
  await saveSplit(outDir, 'train', { images, labels, count: latest.length });
  const header = 'index,image_sha1,class_id,label,model_class_id,model_answer,model_confidence,model_version,task_id,filename,corrected_at,times_corrected';
  const times = new Map<string, number>();
  for (const r of records) times.set(r.image_sha1, (times.get(r.image_sha1) ?? 0) + 1);
  const rows = latest.map((r, i) =>
    [
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
    ]
      .map(csvCell)
      .join(','),
  );
  await fs.writeFile(path.join(outDir, 'corrections.csv'), `${[header, ...rows].join('\n')}\n`);
  return { images: latest.length, feedback: records.length, corrections: records.filter((r) => r.model_class_id !== r.class_id).length };
}
