/**
 * The README's page-crop figures: how often the bundled model reads a
 * character cropped from a rendered page (pipeline/synth/page-crops.ts) as it
 * reads the clean character. Real ink: kmnist-real training images set in a
 * column, agreement with the 28x28 image. Fonts: the held-out Debian fonts,
 * top-1 against the class. Real pages: the committed crops' boxes cut again
 * from their scans with more or less paper around them, agreement with the
 * committed crop. Run: npx tsx scripts/page-crop-figures.ts [N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../pipeline/core/csv';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { K49Classifier } from '../pipeline/core/inference';
import { KMNIST_REAL_DIR, LATEST, PAGE_CROPS_DIR, PROJECT_ROOT } from '../pipeline/core/paths';
import { decodeForModel, decodeToK49 } from '../pipeline/core/preprocess';
import { type GlyphSource, glyphSources, scanFonts } from '../pipeline/synth/fonts';
import { HARD_PAGE, inkOnPaper, MODERATE_PAGE, PAGE_CROP_LIMITS, type PageOptions, pageCrop, realInkPageCrops, TIGHT_PAGE } from '../pipeline/synth/page-crops';
import { cutAsUser, USER_MARGINS } from './user-crops';

const VARIANTS: Record<string, PageOptions> = {
  moderate: MODERATE_PAGE,
  hard: HARD_PAGE,
  tight: TIGHT_PAGE,
  'wide margin': { ...MODERATE_PAGE, margin: 0.12 },
  'deep shade': { ...MODERATE_PAGE, lightFalloff: 0.6 },
};

async function realInk(model: K49Classifier, n: number): Promise<void> {
  const { images } = await loadSplit(KMNIST_REAL_DIR, 'train');
  for (const [name, page] of Object.entries(VARIANTS)) {
    const { originals, crops } = await realInkPageCrops(images, n, page);
    const direct = (await model.classify(originals)).classes,
      cropped = (await model.classify(crops)).classes;
    const same = direct.filter((c, k) => c === cropped[k]).length;
    console.log(`real ink, ${name}: the same answer for ${same} of ${n} (${(same / n).toFixed(3)})`);
  }
}

async function heldOutFonts(model: K49Classifier): Promise<void> {
  const fonts = scanFonts(['debian']).available.filter((f) => f.split === 'test');
  const perClass = glyphSources(fonts);
  for (const [name, opts] of Object.entries(VARIANTS)) {
    let right = 0,
      n = 0;
    for (const font of fonts) {
      const modern = (c: number) => perClass[c]!.find((g) => g.font === font && g.kind === 'modern');
      for (let c = 0; c < 49; c++) {
        const column = [modern((c + 48) % 49), modern(c), modern((c + 1) % 49)];
        if (!column.every((g) => g !== undefined)) continue;
        const crop = await decodeToK49(pageCrop(column as [GlyphSource, GlyphSource, GlyphSource], { ...opts, seed: `${c}` }), PAGE_CROP_LIMITS);
        if ((await model.classify(crop)).classes[0] === c) right++;
        n++;
      }
    }
    console.log(`${fonts.length} held-out fonts, ${name}: ${right} of ${n} right (${(right / n).toFixed(3)})`);
  }
}

/** Real ink as dark ink (35) on grey paper (130, noise 12) against the same on light paper (200): refused as blank, and answers that agree. */
async function greyPaper(model: K49Classifier, n: number): Promise<void> {
  const { images } = await loadSplit(KMNIST_REAL_DIR, 'train');
  const step = Math.floor(images.length / PIXELS / n);
  const read = async (png: Buffer) => decodeForModel(png, PAGE_CROP_LIMITS).catch(() => null);
  for (const margin of [0, 0.12]) {
    let refused = 0,
      refusedLight = 0,
      same = 0;
    for (let k = 0; k < n; k++) {
      const image = images.subarray(k * step * PIXELS, (k * step + 1) * PIXELS);
      const common = { ink: 35, noise: 12, scale: 5, margin, seed: `grey${k}` };
      const [grey, light] = [await read(inkOnPaper(image, { ...common, paper: 130 })), await read(inkOnPaper(image, { ...common, paper: 200 }))];
      if (!grey) refused++;
      if (!light) refusedLight++;
      if (grey && light && (await model.classify(grey)).classes[0] === (await model.classify(light)).classes[0]) same++;
    }
    console.log(
      `grey paper, margin ${margin}: ${refused} of ${n} refused as blank (on light paper ${refusedLight}); the same answer as on light paper for ${same} (${(same / n).toFixed(3)})`,
    );
  }
}

/**
 * Every second crop of the committed set that its model read at 0.5 or more (its crops.csv), cut again from
 * its page scan with each of USER_MARGINS (and a pixel or so either side of the reader's 0.06): how often the
 * answer is the committed crop's (the page reader's crop, margin 0.06).
 */
async function realPages(model: K49Classifier): Promise<void> {
  const dir = PAGE_CROPS_DIR;
  const pages = path.resolve(PROJECT_ROOT, (JSON.parse(readFileSync(path.join(dir, 'crops.json'), 'utf8')) as { pages: string }).pages);
  const [header, ...rows] = parseCsv(readFileSync(path.join(dir, 'crops.csv'), 'utf8'));
  const cell = (row: string[], name: string) => row[header!.indexOf(name)]!;
  const picked = rows.map((row, k) => ({ row, k })).filter(({ row, k }) => k % 2 === 0 && Number(cell(row, 'confidence')) >= 0.5);
  const { images } = await loadSplit(dir, 'train');
  const committed = new Uint8Array(picked.length * PIXELS);
  for (const [i, { k }] of picked.entries()) committed.set(images.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
  const reference = (await model.classify(committed)).classes;
  const margins = [...USER_MARGINS, 0.03, 0.05, 0.07, 0.09, 0.15].sort((a, b) => a - b);
  const boxes = picked.map(({ row }) => ({
    page: cell(row, 'page'),
    box: (['x', 'y', 'w', 'h'] as const).map((c) => Number(cell(row, c))) as [number, number, number, number],
  }));
  const cut = await cutAsUser(boxes, pages, margins);
  for (const [j, m] of margins.entries()) {
    const classes = (await model.classify(cut[j]!)).classes;
    const same = classes.filter((c, i) => c === reference[i]).length;
    console.log(`real pages, margin ${m}: the same answer as the committed crop for ${same} of ${picked.length} (${(same / picked.length).toFixed(3)})`);
  }
}

(async () => {
  const model = await K49Classifier.load(LATEST);
  await realPages(model);
  const n = Number(process.argv[2] ?? 1000);
  await greyPaper(model, Math.min(n, 200));
  await realInk(model, n);
  await heldOutFonts(model);
})();
