/**
 * Users' corrections as training data: what /feedback/stats reports and what
 * `make feedback DATA=dir` writes (a K49-format training split plus a CSV of
 * what was corrected from what, ready for `make train DATA=dir`). The same
 * image corrected more than once counts once, with its latest label. An
 * image that may be a K49 test image (a user may well correct one: a page of
 * one of K49's source books, a test image tried in the web page) is left out
 * of the export by the leak check, as page crops are: by its pixels, and a
 * character read on a page also by where it lies on that page.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJson } from '../../pipeline/core/artifacts';
import { classById, NUM_CLASSES } from '../../pipeline/core/classes';
import { csvLine } from '../../pipeline/core/csv';
import { PIXELS, saveSplit } from '../../pipeline/core/dataset';
import { projectRelative } from '../../pipeline/core/paths';
import { LEAK_CORRELATION, type LeakReference, maxCorrelations } from '../../pipeline/data/leak';
import { pageScans, readPageScan } from '../../pipeline/page/crops';
import { LEAK_COVER, locateOnPage, testCover } from '../../pipeline/page/locate';
import { pageSha256 } from '../../pipeline/page/read';
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
  /** By their pixels or by their place on their page (the two below). */
  dropped_as_possible_test_images: number;
  dropped_by_correlation: number;
  dropped_by_place: number;
  /** Characters corrected on a page whose scan was not given (`pages`): they cannot be checked by place, so they are left out. */
  left_out_pages_not_given: number;
  leak_correlation: number;
  leak_cover: number;
  leak_reference: { dir: string; images: number };
  /** The page scans given for the check by place, and what was found on those that people's corrections came from. */
  pages: { dir: string; checked: number; real_sample_images_found: number } | null;
}

/** What the check by place found for the characters corrected on pages. */
interface PlaceCheck {
  /** Per record id: the largest share of a located test image's box that the character's box covers. */
  cover: Map<string, number>;
  /** Records of page characters whose page scan was not among those given. */
  pageNotGiven: Set<string>;
  checked: number;
  located: number;
}

/**
 * Characters corrected on a page are checked as `k49 crops` checks page crops: the page scan (found among the
 * scans of `pagesDir` by the SHA-256 that POST /pages answered) is searched for real-sample images, and a
 * character covering LEAK_COVER of where one lies may be that test image cut with more or less around it,
 * whatever its pixels' correlation.
 */
async function checkByPlace(records: FeedbackRecord[], reference: LeakReference, pagesDir: string | undefined): Promise<PlaceCheck> {
  const check: PlaceCheck = { cover: new Map(), pageNotGiven: new Set(), checked: 0, located: 0 };
  const onPages = records.filter((r) => r.page_sha256 !== null && r.page_box !== null);
  if (onPages.length === 0) return check;
  const scans = new Map<string, string>();
  if (pagesDir) {
    for (const file of await pageScans(pagesDir)) scans.set(pageSha256(await fs.readFile(path.join(pagesDir, file))), file);
  }
  for (const sha of new Set(onPages.map((r) => r.page_sha256!))) {
    const file = scans.get(sha);
    const mine = onPages.filter((r) => r.page_sha256 === sha);
    if (!pagesDir || !file) {
      for (const r of mine) check.pageNotGiven.add(r.id);
      continue;
    }
    const located = locateOnPage(await readPageScan(pagesDir, file), reference.images, LEAK_CORRELATION);
    check.checked++;
    check.located += located.length;
    for (const r of mine) check.cover.set(r.id, testCover(r.page_box!, located));
  }
  return check;
}

/**
 * Writes k49-train-imgs.npz / k49-train-labels.npz, corrections.csv (one row per image written) and
 * feedback.json (what was exported and dropped) to `outDir`. `pagesDir`: the scans of the pages people
 * corrected characters of, for the check by place; without it (or without a page among them) those
 * characters are left out.
 */
export async function exportFeedback(records: FeedbackRecord[], outDir: string, reference: LeakReference, pagesDir?: string): Promise<FeedbackExport> {
  const distinct = latestPerImage(records);
  if (distinct.length === 0) throw new Error('there are no corrections yet: nothing to export (POST /feedback stores them)');
  const all = new Uint8Array(distinct.length * PIXELS);
  distinct.forEach((r, i) => {
    all.set(r.image, i * PIXELS);
  });
  const correlation = maxCorrelations(all, reference.images);
  const place = await checkByPlace(distinct, reference, pagesDir);
  // Why each image is left out, or that it is kept.
  const verdicts = distinct.map((r, i) =>
    correlation[i]! >= LEAK_CORRELATION
      ? 'correlation'
      : place.pageNotGiven.has(r.id)
        ? 'page not given'
        : (place.cover.get(r.id) ?? 0) >= LEAK_COVER
          ? 'place'
          : 'kept',
  );
  const count = (verdict: (typeof verdicts)[number]) => verdicts.filter((v) => v === verdict).length;
  const [byCorrelation, byPlace, notGiven] = [count('correlation'), count('place'), count('page not given')];
  // Each kept image with its nearest test image's correlation and its cover of a located one, for the CSV (as crops.csv has them).
  const latest = distinct.flatMap((r, i) =>
    verdicts[i] === 'kept' ? [{ ...r, test_correlation: correlation[i]!, test_cover: place.cover.get(r.id) ?? 0 }] : [],
  );
  if (latest.length === 0) {
    throw new Error(
      `none of the ${distinct.length} images people labelled can be exported: ${byCorrelation} may be K49 test images (correlation >= ${LEAK_CORRELATION} with one of ${reference.dir}), ` +
        `${byPlace} cover where one lies on its page, ${notGiven} were read on pages whose scans were not given (PAGES=dir, the folder of those scans as they were read, checks them by place)`,
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
    'index,image_sha1,class_id,label,model_class_id,model_answer,model_confidence,model_version,task_id,filename,page_sha256,page_x,page_y,page_w,page_h,corrected_at,times_corrected,test_correlation,test_cover';
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
      r.page_sha256,
      ...(r.page_box ?? [null, null, null, null]),
      new Date(r.created_at).toISOString(),
      times.get(r.image_sha1)!,
      r.test_correlation.toFixed(4),
      r.test_cover.toFixed(2),
    ]),
  );
  await fs.writeFile(path.join(outDir, 'corrections.csv'), `${[header, ...rows].join('\n')}\n`);
  const summary: FeedbackExport = {
    images: latest.length,
    feedback: records.length,
    corrections: records.filter((r) => r.model_class_id !== r.class_id).length,
    dropped_as_possible_test_images: byCorrelation + byPlace,
    dropped_by_correlation: byCorrelation,
    dropped_by_place: byPlace,
    left_out_pages_not_given: notGiven,
    leak_correlation: LEAK_CORRELATION,
    leak_cover: LEAK_COVER,
    leak_reference: { dir: reference.dir, images: reference.count },
    pages: pagesDir ? { dir: projectRelative(pagesDir), checked: place.checked, real_sample_images_found: place.located } : null,
  };
  await writeJson(path.join(outDir, 'feedback.json'), summary);
  return summary;
}
