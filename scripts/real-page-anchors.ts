/**
 * A real-page check of the page cutters with K49's own boxes: K49's images of book 200010454 were cut from
 * these pages, so where a crop of ours matches one (correlation >= the leak check's 0.85, over a pixel's
 * shift) our box is where K49's annotators put theirs, and its label is known. Every such box found by
 * either cutter (rules alone, or judged by the model) is an anchor; each cutter is scored on all anchors:
 * found (a box at IoU >= 0.5) and found and read right (the model's top-1). Anchors exist only where some
 * cutter cut close to K49's box, so this compares the cutters; it is not a page's recall. Anchors matched to
 * `kmnist-real` images are training images of the bundled model; those matched to `real-sample` are not.
 * The figures in docs/page-reading.md. Run: npx tsx scripts/real-page-anchors.ts [pages dir] [model dir]
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveModelDir } from '../pipeline/core/artifacts';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { K49Classifier } from '../pipeline/core/inference';
import { KMNIST_REAL_DIR, REAL_SAMPLE_DIR } from '../pipeline/core/paths';
import { bestMatches, LEAK_CORRELATION } from '../pipeline/data/leak';
import { pageScans } from '../pipeline/page/crops';
import { decodePage, findCharacters } from '../pipeline/page/read';
import { scorePage } from '../pipeline/page/score';

type Box = [number, number, number, number];
interface Anchor {
  page: string;
  box: Box;
  correlation: number;
  label: number;
  source: string;
}

async function main() {
  const pagesDir = process.argv[2] ?? '../shared/data/pages-200010454';
  const model = await K49Classifier.load(resolveModelDir(process.argv[3]));
  // kmnist-real's test split is a copy of real-sample's images of its ten classes: real-sample stands for both.
  const references = [
    { source: 'kmnist-real', split: await loadSplit(KMNIST_REAL_DIR, 'train') },
    { source: 'real-sample', split: await loadSplit(REAL_SAMPLE_DIR, 'test') },
  ];
  const images = new Uint8Array(references.reduce((n, r) => n + r.split.count, 0) * PIXELS);
  const labels: number[] = [];
  const sources: string[] = [];
  for (const r of references) {
    images.set(r.split.images, labels.length * PIXELS);
    labels.push(...r.split.labels);
    sources.push(...new Array<string>(r.split.count).fill(r.source));
  }
  const cutters = { rules: null, judged: (x: Uint8Array) => model.probabilities(x) };
  const found: Record<string, Map<string, { box: Box; classId: number }[]>> = { rules: new Map(), judged: new Map() };
  const anchors = new Map<number, Anchor>(); // by K49 image, the best-matching box of either cutter
  const files = await pageScans(pagesDir);
  for (const file of files) {
    const page = await decodePage(await fs.readFile(path.join(pagesDir, file)), { maxPixels: Number.MAX_SAFE_INTEGER });
    for (const [name, judge] of Object.entries(cutters)) {
      const { cut, images: crops } = await findCharacters(page, judge);
      const { classes } = await model.classify(crops);
      found[name]!.set(
        file,
        cut.characters.map((ch, k) => ({ box: ch.box as Box, classId: classes[k]! })),
      );
      bestMatches(crops, images).forEach((m, k) => {
        if (m.correlation < LEAK_CORRELATION || (anchors.get(m.index)?.correlation ?? -1) >= m.correlation) return;
        anchors.set(m.index, {
          page: file,
          box: cut.characters[k]!.box as Box,
          correlation: m.correlation,
          label: labels[m.index]!,
          source: sources[m.index]!,
        });
      });
    }
  }
  const all = [...anchors.values()];
  const count = (s: string) => all.filter((a) => a.source === s).length;
  console.log(`${all.length} anchors on ${files.length} pages (${count('real-sample')} real-sample, ${count('kmnist-real')} kmnist-real images)`);
  for (const name of Object.keys(cutters)) {
    const tally = { all: [0, 0, 0], 'real-sample': [0, 0, 0] } as Record<string, number[]>;
    for (const file of files) {
      const truth = all.filter((a) => a.page === file);
      const boxes = found[name]!.get(file)!;
      const { match } = scorePage(
        truth.map((a, index) => ({ box: a.box, column: 0, index })),
        boxes.map((b, index) => ({ box: b.box, column: 0, index })),
      );
      truth.forEach((a, i) => {
        const right = match[i]! >= 0 && boxes[match[i]!]!.classId === a.label;
        for (const group of ['all', a.source]) {
          if (!tally[group]) continue;
          tally[group]![0]!++;
          if (match[i]! >= 0) tally[group]![1]!++;
          if (right) tally[group]![2]!++;
        }
      });
    }
    const boxes = [...found[name]!.values()].reduce((n, b) => n + b.length, 0);
    const line = (g: string) => `${g}: found ${tally[g]![1]}/${tally[g]![0]}, found and read right ${tally[g]![2]}/${tally[g]![0]}`;
    console.log(`${name} (${boxes} boxes): ${line('all')}; ${line('real-sample')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
