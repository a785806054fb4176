/**
 * `k49 crops`: the characters of a folder of page scans as a K49-format set, for learning from real ink
 * without labels. Each page is cut (cut.ts) and each character cropped and preprocessed as the page reader
 * does; the current model's answer and confidence come with it (a pseudo-label, to be trusted or not by
 * whoever trains on it); every crop that may be a K49 test image is dropped (the leak check). Written:
 * k49-train-imgs.npz / k49-train-labels.npz (the pseudo-labels), crops.csv (page, box, label, confidence,
 * correlation with the nearest real-sample image) and crops.json (what was cut and dropped).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveModelDir, writeJson } from '../core/artifacts';
import { classById, NUM_CLASSES } from '../core/classes';
import { PIXELS, saveSplit } from '../core/dataset';
import { K49Classifier } from '../core/inference';
import { projectRelative } from '../core/paths';
import { LEAK_CORRELATION, loadLeakReference, maxCorrelations } from '../data/leak';
import { decodePage, findCharacters } from './read';
import { comparePageNames } from './text';

const SCAN = /\.(jpe?g|png|tiff?|webp)$/i;

/** The page scans (JPEG, PNG, TIFF, WebP) of a folder, in page order (comparePageNames); a folder without any is refused. */
export async function pageScans(dir: string): Promise<string[]> {
  const files = (await fs.readdir(dir)).filter((f) => SCAN.test(f)).sort(comparePageNames);
  if (files.length === 0) throw new Error(`${dir} holds no page scans (JPEG, PNG, TIFF or WebP)`);
  return files;
}

interface CropRow {
  page: string;
  box: [number, number, number, number];
  column: number;
  index: number;
  label: number;
  confidence: number;
  test_correlation: number;
}

export async function cutCrops(opts: { pages: string; data: string; model?: string; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => console.log(l));
  const files = await pageScans(opts.pages);
  const modelDir = resolveModelDir(opts.model);
  const model = await K49Classifier.load(modelDir);
  const rows: Omit<CropRow, 'test_correlation'>[] = [];
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const page = await decodePage(await fs.readFile(path.join(opts.pages, file)), { maxPixels: Number.MAX_SAFE_INTEGER });
    // Cut as the page reader cuts (turned upright if askew), by the rules alone: a dataset must not depend on
    // the judgement of the model it will train or be labelled by. Boxes in pixels of the page scan.
    const { cut, images } = await findCharacters(page, null);
    const { classes, confidences } = await model.classify(images);
    cut.characters.forEach((ch, k) => {
      if (images.subarray(k * PIXELS, (k + 1) * PIXELS).every((v) => v === 0)) return;
      rows.push({ page: file, box: ch.box, column: ch.column, index: ch.index, label: classes[k]!, confidence: confidences[k]! });
      parts.push(images.slice(k * PIXELS, (k + 1) * PIXELS));
    });
    log(`${file}: ${cut.characters.length} characters in ${cut.columns.length} columns`);
  }
  const all = new Uint8Array(parts.length * PIXELS);
  parts.forEach((p, i) => {
    all.set(p, i * PIXELS);
  });
  // The leak check against every real K49 test image this project holds.
  const test = await loadLeakReference();
  const correlation = maxCorrelations(all, test.images);
  const keptIndex = rows.map((_, i) => i).filter((i) => correlation[i]! < LEAK_CORRELATION);
  const kept: CropRow[] = keptIndex.map((i) => ({ ...rows[i]!, test_correlation: correlation[i]! }));
  const images = new Uint8Array(kept.length * PIXELS);
  keptIndex.forEach((i, k) => {
    images.set(all.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
  });
  await fs.mkdir(opts.data, { recursive: true });
  await saveSplit(opts.data, 'train', { images, labels: Uint8Array.from(kept, (r) => r.label), count: kept.length });
  const csv = ['index,page,x,y,w,h,column,row,label,char,confidence,test_correlation'];
  kept.forEach((r, i) => {
    csv.push([i, r.page, ...r.box, r.column, r.index, r.label, classById(r.label).char, r.confidence.toFixed(4), r.test_correlation.toFixed(4)].join(','));
  });
  await fs.writeFile(path.join(opts.data, 'crops.csv'), `${csv.join('\n')}\n`);
  const perClass = (min: number) => {
    const counts = new Array<number>(NUM_CLASSES).fill(0);
    for (const r of kept) if (r.confidence >= min) counts[r.label]!++;
    return Object.fromEntries(counts.flatMap((n, c) => (n > 0 ? [[classById(c).char, n]] : [])));
  };
  const summary = {
    pages: projectRelative(opts.pages),
    page_files: files.length,
    model_version: model.info.version,
    cut: rows.length,
    dropped_as_possible_test_images: rows.length - kept.length,
    leak_correlation: LEAK_CORRELATION,
    leak_reference: { dir: test.dir, images: test.count },
    kept: kept.length,
    pseudo_labels_at_confidence: { '0.5': perClass(0.5), '0.9': perClass(0.9) },
  };
  await writeJson(path.join(opts.data, 'crops.json'), summary);
  log(
    `${rows.length} characters cut from ${files.length} pages; ${rows.length - kept.length} dropped as possible K49 test images (correlation >= ${LEAK_CORRELATION}); ${kept.length} written to ${projectRelative(opts.data)}`,
  );
  return summary;
}
