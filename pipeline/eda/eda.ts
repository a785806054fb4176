/**
 * `k49 eda`: dataset statistics as a self-contained HTML report (Plotly
 * inlined) plus PNG figures. Works on whatever a K49-format directory holds:
 * labels only (class distribution), test files only, or the full set.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { K49_CLASSES, NUM_CLASSES } from '../core/classes';
import { classCounts, hasSplit, loadImages, loadLabels, PIXELS, type Split } from '../core/dataset';
import { EDA_DIR } from '../core/paths';
import { inkBox } from '../core/preprocess/fit';
import { Random } from '../core/random';
import { classDistributionPng, galleryPng } from '../report/images';
import { type PlotlyFigure, plotlyPage } from '../report/plotly';

interface SplitStats {
  split: Split;
  count: number;
  class_counts: number[];
  imbalance_ratio: number | null;
  classes_present: number;
  images?: {
    pixel_mean: number;
    pixel_std: number;
    ink_coverage: { mean: number; histogram: number[] };
    per_class: { class_id: number; char: string; ink_mean: number; bbox_width_mean: number; bbox_height_mean: number }[];
    duplicates_within: number;
  };
}

export interface EdaReport {
  data: string;
  splits: SplitStats[];
  duplicates_across_splits: number | null;
  rare_classes: { class_id: number; char: string; train_count: number }[];
}

/** Pixel mean and standard deviation over all images (0..255); the one definition used anywhere statistics are needed. */
export function pixelStats(images: Uint8Array): { mean: number; std: number } {
  let sum = 0,
    sumSq = 0;
  for (const v of images) {
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / images.length;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / images.length - mean * mean)) };
}

const INK = 64;
const hashImage = (img: Uint8Array) => createHash('sha1').update(img).digest('hex');

function imageStats(images: Uint8Array, labels: Uint8Array) {
  const n = labels.length;
  const { mean, std } = pixelStats(images);
  const histogram = new Array<number>(20).fill(0);
  const ink = new Array<number>(NUM_CLASSES).fill(0),
    bw = new Array<number>(NUM_CLASSES).fill(0),
    bh = new Array<number>(NUM_CLASSES).fill(0);
  const counts = classCounts(labels);
  let coverageSum = 0;
  const hashes = new Map<string, number>();
  let duplicates = 0;
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * PIXELS, (i + 1) * PIXELS);
    let inkPixels = 0;
    for (const v of img) if (v > INK) inkPixels++;
    const coverage = inkPixels / PIXELS;
    coverageSum += coverage;
    histogram[Math.min(19, Math.floor((coverage * 20) / 0.6))]!++; // 0..60 % in 3 % bins
    const c = labels[i]!;
    ink[c]! += coverage;
    const box = inkBox({ width: 28, height: 28, data: img });
    if (box) {
      bw[c]! += box.x1 - box.x0;
      bh[c]! += box.y1 - box.y0;
    }
    const h = hashImage(img);
    if (hashes.has(h)) duplicates++;
    else hashes.set(h, i);
  }
  return {
    stats: {
      pixel_mean: mean,
      pixel_std: std,
      ink_coverage: { mean: coverageSum / Math.max(1, n), histogram },
      per_class: K49_CLASSES.map((k) => ({
        class_id: k.index,
        char: k.char,
        ink_mean: counts[k.index] ? ink[k.index]! / counts[k.index]! : 0,
        bbox_width_mean: counts[k.index] ? bw[k.index]! / counts[k.index]! : 0,
        bbox_height_mean: counts[k.index] ? bh[k.index]! / counts[k.index]! : 0,
      })),
      duplicates_within: duplicates,
    },
    hashes: new Set(hashes.keys()),
  };
}

function meanImageGrid(images: Uint8Array, labels: Uint8Array): Buffer {
  const sums = Array.from({ length: NUM_CLASSES }, () => new Float64Array(PIXELS));
  const counts = classCounts(labels);
  labels.forEach((c, i) => {
    const s = sums[c]!;
    for (let p = 0; p < PIXELS; p++) s[p]! += images[i * PIXELS + p]!;
  });
  const tiles = sums.map((s, c) => Uint8Array.from(s, (v) => (counts[c] ? Math.round(v / counts[c]!) : 0)));
  return galleryPng(
    tiles,
    K49_CLASSES.map((k) => `${k.char} ${counts[k.index]}`),
    10,
    3,
  );
}

function sampleGrid(images: Uint8Array, labels: Uint8Array, perClass = 10): Buffer {
  const rng = new Random('eda-samples');
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  labels.forEach((c, i) => {
    byClass[c]!.push(i);
  });
  const tiles: Uint8Array[] = [];
  const captions: string[] = [];
  for (const k of K49_CLASSES) {
    const pick = rng.shuffle([...byClass[k.index]!]).slice(0, perClass);
    for (let j = 0; j < perClass; j++) {
      const i = pick[j];
      tiles.push(i === undefined ? new Uint8Array(PIXELS) : images.subarray(i * PIXELS, (i + 1) * PIXELS));
      captions.push(j === 0 ? k.char : '');
    }
  }
  return galleryPng(tiles, captions, perClass, 2);
}

export async function runEda(dataDir: string, outDir: string, log = console.log): Promise<EdaReport> {
  await fs.mkdir(outDir, { recursive: true });
  const splits: SplitStats[] = [];
  const hashesBySplit: Set<string>[] = [];
  const figures: (PlotlyFigure | { html: string })[] = [];
  const pngs: string[] = [];
  for (const split of ['train', 'test'] as const) {
    if (!hasSplit(dataDir, split, 'labels')) continue;
    const labels = await loadLabels(dataDir, split);
    const counts = classCounts(labels);
    const present = counts.filter((c) => c > 0);
    const s: SplitStats = {
      split,
      count: labels.length,
      class_counts: counts,
      imbalance_ratio: present.length > 0 ? Math.max(...present) / Math.min(...present) : null,
      classes_present: present.length,
    };
    if (hasSplit(dataDir, split, 'images')) {
      const images = await loadImages(dataDir, split);
      if (images.length !== labels.length * PIXELS) throw new Error(`${split}: images and labels disagree in count`);
      const { stats, hashes } = imageStats(images, labels);
      s.images = stats;
      hashesBySplit.push(hashes);
      await fs.writeFile(path.join(outDir, `${split}-class-means.png`), meanImageGrid(images, labels));
      await fs.writeFile(path.join(outDir, `${split}-samples.png`), sampleGrid(images, labels));
      pngs.push(`${split}-class-means.png`, `${split}-samples.png`);
    }
    splits.push(s);
  }
  if (splits.length === 0) throw new Error(`${dataDir} holds no K49 label files (k49-train-labels.npz or k49-test-labels.npz)`);

  const across = hashesBySplit.length === 2 ? [...hashesBySplit[1]!].filter((h) => hashesBySplit[0]!.has(h)).length : null;
  const train = splits.find((s) => s.split === 'train');
  const rare = train
    ? K49_CLASSES.filter((k) => train.class_counts[k.index]! < 1000).map((k) => ({
        class_id: k.index,
        char: k.char,
        train_count: train.class_counts[k.index]!,
      }))
    : [];
  const report: EdaReport = { data: path.resolve(dataDir), splits, duplicates_across_splits: across, rare_classes: rare };
  await fs.writeFile(path.join(outDir, 'eda.json'), `${JSON.stringify(report, null, 2)}\n`);
  await fs.writeFile(
    path.join(outDir, 'class-distribution.png'),
    classDistributionPng(
      splits.map((sp) => ({ name: sp.split, counts: sp.class_counts })),
      K49_CLASSES.map((c) => c.char),
    ),
  );
  pngs.unshift('class-distribution.png');

  const chars = K49_CLASSES.map((k) => k.char);
  const summary = splits
    .map(
      (s) =>
        `<tr><td>${s.split}</td><td>${s.count.toLocaleString('en')}</td><td>${s.classes_present}</td><td>${s.imbalance_ratio?.toFixed(1) ?? '—'}</td>` +
        `<td>${s.images ? s.images.pixel_mean.toFixed(2) : '—'}</td><td>${s.images ? s.images.pixel_std.toFixed(2) : '—'}</td>` +
        `<td>${s.images ? `${(100 * s.images.ink_coverage.mean).toFixed(1)} %` : '—'}</td><td>${s.images ? s.images.duplicates_within : '—'}</td></tr>`,
    )
    .join('');
  figures.push({
    html:
      `<p>Data: <code>${report.data}</code>. Images are 28x28, white ink on black. Pixel statistics on the 0..255 scale ` +
      `(training scales pixels by 1/255 and uses no dataset mean/std). Ink = pixels above ${INK}.</p>` +
      `<table><tr><th>split</th><th>images</th><th>classes</th><th>imbalance (max/min)</th><th>pixel mean</th><th>pixel std</th><th>ink coverage</th><th>exact duplicates within</th></tr>${summary}</table>` +
      `<p>Exact duplicates across train and test: ${across ?? 'n/a (needs images of both splits)'}.</p>` +
      (train ? `<p>Classes with fewer than 1,000 training images: ${rare.map((r) => `${r.char} (${r.train_count})`).join(', ') || 'none'}.</p>` : ''),
  });
  figures.push({
    title: 'Class distribution',
    data: splits.map((s) => ({ type: 'bar', name: s.split, x: chars, y: s.class_counts })),
    layout: { barmode: 'group', xaxis: { type: 'category', title: { text: 'class (character)' } }, yaxis: { title: { text: 'images' } } },
  });
  const withImages = splits.filter((s) => s.images);
  if (withImages.length > 0) {
    figures.push({
      title: 'Ink coverage per image',
      data: withImages.map((s) => ({
        type: 'bar',
        name: s.split,
        x: s.images!.ink_coverage.histogram.map((_, i) => `${i * 3}-${i * 3 + 3} %`),
        y: s.images!.ink_coverage.histogram,
      })),
      layout: { barmode: 'group', yaxis: { title: { text: 'images' } } },
    });
    figures.push({
      title: 'Per-class ink coverage and ink bounding box',
      data: withImages.flatMap((s) => [
        { type: 'bar', name: `${s.split} ink %`, x: chars, y: s.images!.per_class.map((c) => 100 * c.ink_mean) },
        { type: 'scatter', mode: 'markers', name: `${s.split} bbox width`, x: chars, y: s.images!.per_class.map((c) => c.bbox_width_mean), yaxis: 'y2' },
        { type: 'scatter', mode: 'markers', name: `${s.split} bbox height`, x: chars, y: s.images!.per_class.map((c) => c.bbox_height_mean), yaxis: 'y2' },
      ]),
      layout: {
        xaxis: { type: 'category' },
        yaxis: { title: { text: 'ink %' } },
        yaxis2: { title: { text: 'px' }, overlaying: 'y', side: 'right', range: [0, 29] },
      },
    });
  }
  for (const png of pngs) {
    const b64 = (await fs.readFile(path.join(outDir, png))).toString('base64');
    figures.push({ html: `<h2>${png.replace('.png', '').replace(/-/g, ' ')}</h2><img alt="${png}" src="data:image/png;base64,${b64}">` });
  }
  await fs.writeFile(path.join(outDir, 'eda.html'), plotlyPage(`K49 exploratory data analysis: ${path.basename(report.data)}`, figures));
  for (const s of splits) {
    log(
      `${s.split}: ${s.count} images, ${s.classes_present} classes, imbalance ${s.imbalance_ratio?.toFixed(1)}` +
        (s.images ? `, pixel mean ${s.images.pixel_mean.toFixed(2)} std ${s.images.pixel_std.toFixed(2)}` : ''),
    );
  }
  if (rare.length) log(`classes under 1,000 train images: ${rare.map((r) => `${r.char} ${r.train_count}`).join(', ')}`);
  log(`report: ${path.join(outDir, 'eda.html')}`);
  return report;
}

export function defaultEdaOut(dataDir: string): string {
  return path.join(EDA_DIR, path.basename(path.resolve(dataDir)));
}
