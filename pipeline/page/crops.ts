/**
 * `k49 crops`: the characters of a folder of page scans as a K49-format set, for learning from real ink
 * without labels. Each page is cut (cut.ts) and each character cropped and preprocessed as the page reader
 * does; the current model's answer and confidence come with it (a pseudo-label, to be trusted or not by
 * whoever trains on it); every crop that may be a K49 test image is dropped (the leak check): one that
 * correlates with a real-sample image at LEAK_CORRELATION or more, and one that covers much of a place
 * where a real-sample image was found on its page (locate.ts: the same character cut with a little more or
 * less around it). Written: k49-train-imgs.npz / k49-train-labels.npz (the pseudo-labels), crops.csv (page,
 * box, label, confidence, correlation with the nearest real-sample image, share covered of a located one)
 * and crops.json (what was cut and dropped).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveModelDir, writeJson } from '../core/artifacts';
import { classById, NUM_CLASSES } from '../core/classes';
import { csvLine, parseCsv } from '../core/csv';
import { loadSplit, PIXELS, saveSplit } from '../core/dataset';
import { K49Classifier } from '../core/inference';
import { projectRelative } from '../core/paths';
import { LEAK_CORRELATION, type LeakReference, loadLeakReference, maxCorrelations } from '../data/leak';
import { LEAK_COVER, locateOnPage, testCover } from './locate';
import { type DecodedPage, decodePage, findCharacters } from './read';
import { comparePageNames } from './text';

const SCAN = /\.(jpe?g|png|tiff?|webp)$/i;

/** The page scans (JPEG, PNG, TIFF, WebP) of a folder, in page order (comparePageNames); a folder without any is refused. */
export async function pageScans(dir: string): Promise<string[]> {
  const files = (await fs.readdir(dir)).filter((f) => SCAN.test(f)).sort(comparePageNames);
  if (files.length === 0) throw new Error(`${dir} holds no page scans (JPEG, PNG, TIFF or WebP)`);
  return files;
}

/** One scan of a page folder, decoded for cutting: a dataset's pages are the project's own, so no size limit applies. */
export async function readPageScan(dir: string, file: string): Promise<DecodedPage> {
  return decodePage(await fs.readFile(path.join(dir, file)), { maxPixels: Number.MAX_SAFE_INTEGER });
}

/** crops.csv's columns, in the order written: a crop's index in the set, its page scan, box, place and pseudo-label, and its leak check. */
const CROP_COLUMNS = ['index', 'page', 'x', 'y', 'w', 'h', 'column', 'row', 'label', 'char', 'confidence', 'test_correlation', 'test_cover'] as const;
/** The columns a recheck reads back (a set made before the check by place has no test_cover). */
const RECHECKED_COLUMNS = ['page', 'x', 'y', 'w', 'h', 'column', 'row', 'label', 'confidence'] as const satisfies readonly (typeof CROP_COLUMNS)[number][];

interface CropRow {
  page: string;
  box: [number, number, number, number];
  column: number;
  index: number;
  label: number;
  confidence: number;
  /** The largest share of a located real-sample image's box this crop covers (0 if none was found near it). */
  test_cover: number;
  test_correlation: number;
}

/** Crops of pages with their records, before the leak check; `located`: real-sample images found on those pages. */
interface UncheckedCrops {
  rows: Omit<CropRow, 'test_correlation'>[];
  images: Uint8Array;
  located: number;
}

/** Where the crops came from, as crops.json records it. */
interface CropSource {
  pages: string;
  page_files: number;
  model_version: string;
}

export async function cutCrops(opts: { pages: string; data: string; model?: string; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => console.log(l));
  const files = await pageScans(opts.pages);
  const modelDir = resolveModelDir(opts.model);
  const model = await K49Classifier.load(modelDir);
  // The leak check against every real K49 test image this project holds.
  const test = await loadLeakReference();
  const rows: UncheckedCrops['rows'] = [];
  const parts: Uint8Array[] = [];
  let located = 0;
  for (const file of files) {
    const page = await readPageScan(opts.pages, file);
    // Cut as the page reader cuts (turned upright if askew), by the rules alone: a dataset must not depend on
    // the judgement of the model it will train or be labelled by. Boxes in pixels of the page scan.
    const { cut, images } = await findCharacters(page, null);
    const { classes, confidences } = await model.classify(images);
    const tests = locateOnPage(page, test.images, LEAK_CORRELATION);
    located += tests.length;
    cut.characters.forEach((ch, k) => {
      if (images.subarray(k * PIXELS, (k + 1) * PIXELS).every((v) => v === 0)) return;
      rows.push({
        page: file,
        box: ch.box,
        column: ch.column,
        index: ch.index,
        label: classes[k]!,
        confidence: confidences[k]!,
        test_cover: testCover(ch.box, tests),
      });
      parts.push(images.slice(k * PIXELS, (k + 1) * PIXELS));
    });
    log(`${file}: ${cut.characters.length} characters in ${cut.columns.length} columns; ${tests.length} real-sample images found on it`);
  }
  const images = new Uint8Array(parts.length * PIXELS);
  parts.forEach((p, i) => {
    images.set(p, i * PIXELS);
  });
  const source = { pages: projectRelative(opts.pages), page_files: files.length, model_version: model.info.version };
  return writeCheckedCrops(opts.data, { rows, images, located }, test, source, log);
}

/**
 * The leak check of a crop set made before crops were also checked by place (`make crops` until 2026-12-07):
 * its pages searched for real-sample images again, and every crop covering LEAK_COVER or more of where one
 * lies dropped; the set is written again in place (re-indexed; a pseudo-label set made from it must be made
 * again). `pages`: the folder its crops were cut from.
 */
export async function recheckCrops(opts: { data: string; pages: string; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => console.log(l));
  const test = await loadLeakReference();
  const split = await loadSplit(opts.data, 'train');
  const [names = [], ...lines] = parseCsv(await fs.readFile(path.join(opts.data, 'crops.csv'), 'utf8'));
  // By the header's names, so that a set written with its columns in another order is read right, or one without them refused.
  const at = (name: string) => {
    const i = names.indexOf(name);
    if (i < 0) throw new Error(`${opts.data}/crops.csv has no column '${name}' (its header: ${names.join(',')}); is it a crop set of \`make crops\`?`);
    return i;
  };
  const col = Object.fromEntries(RECHECKED_COLUMNS.map((n) => [n, at(n)]));
  const rows: UncheckedCrops['rows'] = lines.map((f) => {
    const num = (name: string) => Number(f[col[name]!]);
    return {
      page: f[col.page!]!,
      box: [num('x'), num('y'), num('w'), num('h')],
      column: num('column'),
      index: num('row'),
      label: num('label'),
      confidence: num('confidence'),
      test_cover: 0,
    };
  });
  let located = 0;
  for (const file of [...new Set(rows.map((r) => r.page))]) {
    const page = await readPageScan(opts.pages, file);
    const tests = locateOnPage(page, test.images, LEAK_CORRELATION);
    located += tests.length;
    for (const r of rows) if (r.page === file) r.test_cover = testCover(r.box, tests);
    log(`${file}: ${tests.length} real-sample images found on it`);
  }
  const before = JSON.parse(await fs.readFile(path.join(opts.data, 'crops.json'), 'utf8')) as CropSource & {
    dropped_as_possible_test_images: number;
    dropped_by_place?: number;
  };
  const source = { pages: before.pages, page_files: before.page_files, model_version: before.model_version };
  // The crops earlier checks dropped count in the record as cut and dropped (a set checked by correlation alone has no dropped_by_place).
  const place = before.dropped_by_place ?? 0;
  return writeCheckedCrops(opts.data, { rows, images: split.images, located }, test, source, log, {
    correlation: before.dropped_as_possible_test_images - place,
    place,
  });
}

/** The leak check (correlation, and place), then the kept crops written as a K49-format set with crops.csv and crops.json. */
async function writeCheckedCrops(
  data: string,
  crops: UncheckedCrops,
  test: LeakReference,
  source: CropSource,
  log: (line: string) => void,
  droppedBefore = { correlation: 0, place: 0 },
) {
  const { rows, images: all, located } = crops;
  const correlation = maxCorrelations(all, test.images);
  const byCorrelation = droppedBefore.correlation + rows.filter((_, i) => correlation[i]! >= LEAK_CORRELATION).length;
  const keptIndex = rows.map((_, i) => i).filter((i) => correlation[i]! < LEAK_CORRELATION && rows[i]!.test_cover < LEAK_COVER);
  const kept: CropRow[] = keptIndex.map((i) => ({ ...rows[i]!, test_correlation: correlation[i]! }));
  const images = new Uint8Array(kept.length * PIXELS);
  keptIndex.forEach((i, k) => {
    images.set(all.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
  });
  await fs.mkdir(data, { recursive: true });
  await saveSplit(data, 'train', { images, labels: Uint8Array.from(kept, (r) => r.label), count: kept.length });
  const csv = [csvLine(CROP_COLUMNS)];
  kept.forEach((r, i) => {
    csv.push(
      csvLine([
        i,
        r.page,
        ...r.box,
        r.column,
        r.index,
        r.label,
        classById(r.label).char,
        r.confidence.toFixed(4),
        r.test_correlation.toFixed(4),
        r.test_cover.toFixed(2),
      ]),
    );
  });
  await fs.writeFile(path.join(data, 'crops.csv'), `${csv.join('\n')}\n`);
  const perClass = (min: number) => {
    const counts = new Array<number>(NUM_CLASSES).fill(0);
    for (const r of kept) if (r.confidence >= min) counts[r.label]!++;
    return Object.fromEntries(counts.flatMap((n, c) => (n > 0 ? [[classById(c).char, n]] : [])));
  };
  const cut = rows.length + droppedBefore.correlation + droppedBefore.place;
  const dropped = cut - kept.length;
  const summary = {
    ...source,
    cut,
    dropped_as_possible_test_images: dropped,
    dropped_by_correlation: byCorrelation,
    dropped_by_place: dropped - byCorrelation,
    real_sample_images_found_on_the_pages: located,
    leak_correlation: LEAK_CORRELATION,
    leak_cover: LEAK_COVER,
    leak_reference: { dir: test.dir, images: test.count },
    kept: kept.length,
    pseudo_labels_at_confidence: { '0.5': perClass(0.5), '0.9': perClass(0.9) },
  };
  await writeJson(path.join(data, 'crops.json'), summary);
  log(
    `${cut} crops; ${dropped} dropped as possible K49 test images (${byCorrelation} at correlation >= ${LEAK_CORRELATION}, ` +
      `${dropped - byCorrelation} covering ${LEAK_COVER} or more of where one of ${located} real-sample images lies); ${kept.length} written to ${projectRelative(data)}`,
  );
  return summary;
}
