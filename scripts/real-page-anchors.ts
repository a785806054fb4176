/**
 * A real-page check of the page cutters against K49's own boxes. K49's images of book 200010454 were cut
 * from these pages: a K49 image found again on a page marks a character where K49's annotators boxed one,
 * with its label. They are looked for two ways: a dense search that does not depend on the cutters'
 * choices (pipeline/page/locate.ts), and the cutters' own crops. A K49 image that a window
 * or a crop matches at ANCHOR_CORRELATION or more (normalised correlation, moved by up to a pixel) is an
 * anchor, boxed where it matched best. At the leak check's 0.85 fragments of strokes match simple images
 * of other characters (a dot as ま), so anchors need 0.90. Each cutter (the rules alone; with the model's
 * judgement, as the reader cuts) is scored on every anchor: found (one of its boxes at IoU >= 0.5) and
 * found and read right (the model's top-1). Characters the dense search cannot box (one beside another
 * in a column's rows; a K49 crop holding much of a neighbour) are not counted. Anchors of `kmnist-real`
 * are training images of the bundled model; those of `real-sample` are not.
 * Then each anchor is cut from its scan as a user would cut it for POST /predict, with more or less paper
 * around it (scripts/user-crops.ts), and read.
 * The figures in docs/page-reading.md and docs/preprocessing.md.
 * Run: npx tsx scripts/real-page-anchors.ts [pages dir] [model dir]
 */
import { resolveModelDir } from '../pipeline/core/artifacts';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { K49Classifier } from '../pipeline/core/inference';
import { KMNIST_REAL_DIR, REAL_SAMPLE_DIR } from '../pipeline/core/paths';
import { bestMatches } from '../pipeline/data/leak';
import { pageScans, readPageScan } from '../pipeline/page/crops';
import { locateOnPage } from '../pipeline/page/locate';
import { findCharacters } from '../pipeline/page/read';
import { scorePage } from '../pipeline/page/score';
import { cutAsUser, USER_MARGINS } from './user-crops';

type Box = [number, number, number, number];

const ANCHOR_CORRELATION = 0.9;

interface Anchor {
  page: string;
  box: Box;
  correlation: number;
  /** A cutter's crop matched it at ANCHOR_CORRELATION or more (the earlier, cutter-bound way of finding anchors). */
  byCutter: boolean;
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
  const anchors = new Map<number, Anchor>(); // by K49 image
  const offer = (index: number, anchor: Anchor) => {
    if (anchor.correlation < ANCHOR_CORRELATION) return;
    const known = anchors.get(index);
    const byCutter = anchor.byCutter || (known?.byCutter ?? false);
    anchors.set(index, (known?.correlation ?? -1) >= anchor.correlation ? { ...known!, byCutter } : { ...anchor, byCutter });
  };
  const files = await pageScans(pagesDir);
  const started = Date.now();
  for (const file of files) {
    const page = await readPageScan(pagesDir, file);
    for (const [name, judge] of Object.entries(cutters)) {
      const { cut, images: crops } = await findCharacters(page, judge);
      const { classes } = await model.classify(crops);
      found[name]!.set(
        file,
        cut.characters.map((ch, k) => ({ box: ch.box as Box, classId: classes[k]! })),
      );
      bestMatches(crops, images).forEach((m, k) => {
        offer(m.index, { page: file, box: cut.characters[k]!.box as Box, correlation: m.correlation, byCutter: true });
      });
    }
    for (const m of locateOnPage(page, images, ANCHOR_CORRELATION)) {
      offer(m.index, { page: file, box: m.box, correlation: m.correlation, byCutter: false });
    }
    console.error(`${file}: ${anchors.size} anchors so far (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  const all = [...anchors.entries()].map(([index, a]) => ({ ...a, index, label: labels[index]!, source: sources[index]! }));
  const groups: [string, (a: (typeof all)[number]) => boolean][] = [
    ['all', () => true],
    ['no cutter crop matched', (a) => !a.byCutter],
    ['real-sample', (a) => a.source === 'real-sample'],
  ];
  const count = (pick: (a: (typeof all)[number]) => boolean) => all.filter(pick).length;
  console.log(
    `${all.length} anchors at correlation >= ${ANCHOR_CORRELATION} on ${files.length} pages: ${count((a) => a.source === 'real-sample')} real-sample, ` +
      `${count((a) => a.source === 'kmnist-real')} kmnist-real images; ${count((a) => !a.byCutter)} matched by no cutter's crop`,
  );
  for (const name of Object.keys(cutters)) {
    const parts = groups.map(([group, pick]) => {
      let n = 0,
        hit = 0,
        right = 0;
      for (const file of files) {
        const truth = all.filter((a) => a.page === file && pick(a));
        const boxes = found[name]!.get(file)!;
        const { match } = scorePage(
          truth.map((a, index) => ({ box: a.box, column: 0, index })),
          boxes.map((b, index) => ({ box: b.box, column: 0, index })),
        );
        truth.forEach((a, i) => {
          n++;
          if (match[i]! < 0) return;
          hit++;
          if (boxes[match[i]!]!.classId === a.label) right++;
        });
      }
      return `${group}: found ${hit}/${n}, found and read right ${right}/${n}`;
    });
    const boxes = [...found[name]!.values()].reduce((n, b) => n + b.length, 0);
    console.log(`${name} (${boxes} boxes): ${parts.join('; ')}`);
  }
  await readAsUserCrops(all, images, pagesDir, model);
}

/** Each anchor cut from its scan with each of USER_MARGINS around its box, read right, beside K49's own image of it read right. */
async function readAsUserCrops(
  all: { page: string; box: Box; index: number; label: number; source: string }[],
  images: Uint8Array,
  pagesDir: string,
  model: K49Classifier,
): Promise<void> {
  const own = new Uint8Array(all.length * PIXELS);
  for (const [i, a] of all.entries()) own.set(images.subarray(a.index * PIXELS, (a.index + 1) * PIXELS), i * PIXELS);
  const cuts = await cutAsUser(all, pagesDir, USER_MARGINS);
  const right = async (batch: Uint8Array, source: string) => {
    const { classes } = await model.classify(batch);
    return all.filter((a, i) => a.source === source && classes[i] === a.label).length;
  };
  for (const source of ['kmnist-real', 'real-sample']) {
    const parts = [`K49's own image ${await right(own, source)}`];
    for (const [j, m] of USER_MARGINS.entries()) parts.push(`margin ${m} ${await right(cuts[j]!, source)}`);
    console.log(`${source} anchors cut as a user would (${all.filter((a) => a.source === source).length}), read right: ${parts.join(', ')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
