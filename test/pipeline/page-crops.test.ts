/**
 * Inputs like real uploads (pipeline/core/preprocess.ts, cleanPage): a
 * character cropped with a margin from a rendered page (yellowed paper lit
 * unevenly, grain, dark grey ink, bits of the neighbouring characters at the
 * top and bottom edges) becomes a K49-like image that the model reads as it
 * reads a clean rendering of the same glyph; real ink set on such a page
 * reads as the 28x28 image it came from.
 */
import assert from 'node:assert/strict';
import { classByChar } from '../../pipeline/core/classes';
import { loadSplit, PIXELS } from '../../pipeline/core/dataset';
import { K49Classifier } from '../../pipeline/core/inference';
import { LATEST } from '../../pipeline/core/paths';
import { decodeForModel, decodeToK49 } from '../../pipeline/core/preprocess';
import type { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { type GlyphSource, glyphSources, scanFonts } from '../../pipeline/synth/fonts';
import {
  HARD_PAGE,
  inkOnPaper,
  MODERATE_PAGE,
  PAGE_CROP_LIMITS,
  pageCrop,
  pageCropOfImages,
  realInkPageCrops,
  TIGHT_PAGE,
} from '../../pipeline/synth/page-crops';
import { GlyphRenderer } from '../../pipeline/synth/render';
import { KMNIST_REAL_DIR } from '../helpers/paths';

const heldOut = scanFonts(['debian'])
  .available.filter((f) => f.split === 'test')
  .slice(0, 2);
const perClass = glyphSources(heldOut);
const modern = (classId: number, font = heldOut[0]!) => perClass[classId]!.find((g) => g.font === font && g.kind === 'modern')!;
const column = (c: number, font = heldOut[0]!): [GlyphSource, GlyphSource, GlyphSource] => [
  modern((c + 48) % 49, font),
  modern(c, font),
  modern((c + 1) % 49, font),
];

/** Share of the ink pixels (> 64) of `a` that lie within `reach` pixels of ink of `b` (stroke widths differ between renderings). */
function inkNear(a: Uint8Array, b: Uint8Array, reach = 2): number {
  let ink = 0,
    near = 0;
  for (let i = 0; i < PIXELS; i++) {
    if (a[i]! <= 64) continue;
    ink++;
    const x = i % 28,
      y = (i - x) / 28;
    let found = false;
    for (let dy = -reach; dy <= reach && !found; dy++) {
      for (let dx = -reach; dx <= reach && !found; dx++) {
        const nx = x + dx,
          ny = y + dy;
        found = nx >= 0 && ny >= 0 && nx < 28 && ny < 28 && b[ny * 28 + nx]! > 64;
      }
    }
    if (found) near++;
  }
  return ink === 0 ? 0 : near / ink;
}

function inkColumns(img: Uint8Array): number {
  let cols = 0;
  for (let x = 0; x < 28; x++) if (Array.from({ length: 28 }, (_, y) => img[y * 28 + x]!).some((v) => v > 64)) cols++;
  return cols;
}

describe('page crops (uneven paper, grain, neighbours at the edges)', () => {
  const renderer = new GlyphRenderer();
  const moderate = MODERATE_PAGE,
    hard = HARD_PAGE;

  it('the bundled model reads crops of two held-out fonts almost as it reads clean renderings', async function () {
    this.timeout(120000);
    const model = await K49Classifier.load(LATEST);
    let clean = 0,
      cropped = 0,
      n = 0;
    for (const font of heldOut) {
      for (let c = 0; c < 49; c++) {
        const crop = await decodeToK49(pageCrop(column(c, font), { ...moderate, seed: `${c}` }), PAGE_CROP_LIMITS);
        if ((await model.classify(crop)).classes[0] === c) cropped++;
        if ((await model.classify(renderer.renderClean(modern(c, font)))).classes[0] === c) clean++;
        n++;
      }
    }
    assert.ok(cropped / n >= 0.9, `page crops ${cropped}/${n} right (clean renderings ${clean}/${n})`);
  });

  it('real ink (kmnist-real images) set on the page and cropped, with a margin, on harder paper and tight: the bundled model answers as it does for the 28x28 image', async function () {
    this.timeout(120000);
    const model = await K49Classifier.load(LATEST);
    const { images } = await loadSplit(KMNIST_REAL_DIR, 'train');
    // Tight (no margin): thick strokes cover most of the crop, so little of it is paper.
    for (const [name, page] of Object.entries({ moderate, hard, tight: TIGHT_PAGE })) {
      const { originals, crops } = await realInkPageCrops(images, 200, page);
      const direct = (await model.classify(originals)).classes,
        cropped = (await model.classify(crops)).classes;
      const same = direct.filter((c, k) => c === cropped[k]).length;
      assert.ok(same / direct.length >= 0.94, `${name}: the same answer for ${same} of ${direct.length} crops`);
    }
  });

  it('light falling off across the page: a stroke in shade keeps its strength (ink is measured against the paper it lies on)', async () => {
    const { images } = await loadSplit(KMNIST_REAL_DIR, 'train');
    const image = (i: number) => images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const meanInk = (img: Uint8Array) => img.reduce((a, v) => a + v, 0) / PIXELS;
    for (const i of [0, 100, 200]) {
      const column: [Uint8Array, Uint8Array, Uint8Array] = [image(i + 1), image(i), image(i + 2)];
      const even = await decodeToK49(pageCropOfImages(column, { ...moderate, lightFalloff: 0, seed: `light${i}` }), PAGE_CROP_LIMITS);
      const shaded = await decodeToK49(pageCropOfImages(column, { ...moderate, lightFalloff: 0.6, seed: `light${i}` }), PAGE_CROP_LIMITS);
      assert.ok(inkNear(shaded, even) >= 0.9 && inkNear(even, shaded) >= 0.9, `image ${i}: the shaded crop's ink is not where the evenly lit one's is`);
      assert.ok(
        meanInk(shaded) >= 0.85 * meanInk(even),
        `image ${i}: shaded ink ${meanInk(shaded).toFixed(1)} against ${meanInk(even).toFixed(1)} in even light`,
      );
    }
  });

  it('real ink on darker paper (grey 130, noise): never refused as blank, and read as on light paper (tight crops and with a margin)', async function () {
    this.timeout(120000);
    const model = await K49Classifier.load(LATEST);
    const { images } = await loadSplit(KMNIST_REAL_DIR, 'train');
    const n = 40;
    const step = Math.floor(images.length / PIXELS / n);
    for (const margin of [0, 0.12]) {
      const grey = new Uint8Array(n * PIXELS),
        light = new Uint8Array(n * PIXELS);
      let refused = 0;
      for (let k = 0; k < n; k++) {
        const image = images.subarray(k * step * PIXELS, (k * step + 1) * PIXELS);
        const common = { ink: 35, noise: 12, scale: 5, margin, seed: `grey${k}` };
        try {
          grey.set(await decodeForModel(inkOnPaper(image, { ...common, paper: 130 }), PAGE_CROP_LIMITS), k * PIXELS);
        } catch (e) {
          if ((e as ImageDecodeError).kind !== 'blank') throw e;
          refused++;
        }
        light.set(await decodeForModel(inkOnPaper(image, { ...common, paper: 200 }), PAGE_CROP_LIMITS), k * PIXELS);
      }
      assert.equal(refused, 0, `margin ${margin}: ${refused} of ${n} refused as blank on grey paper`);
      const a = (await model.classify(grey)).classes,
        b = (await model.classify(light)).classes;
      const same = a.filter((c, k) => c === b[k]).length;
      assert.ok(same >= 0.95 * n, `margin ${margin}: the same answer on grey and light paper for ${same} of ${n}`);
    }
  });

  it('a crop of empty paper (grain, uneven light) is refused as blank, not read as faint ink', async () => {
    const empty = new Uint8Array(PIXELS);
    for (const opts of [moderate, hard]) {
      const bytes = pageCropOfImages([empty, empty, empty], { ...opts, seed: 'empty' });
      await assert.rejects(decodeForModel(bytes, PAGE_CROP_LIMITS), (e: ImageDecodeError) => e.kind === 'blank');
    }
  });

  it('keeps the character and drops the paper and the neighbours: the ink matches a clean rendering of the glyph', async () => {
    for (const c of [0, 10, 20, 30, 40]) {
      const crop = await decodeToK49(pageCrop(column(c), { ...moderate, seed: `near${c}` }), PAGE_CROP_LIMITS);
      const clean = renderer.renderClean(modern(c));
      // Stray ink (paper grain, neighbours) would lie away from the glyph; a lost stroke would leave the glyph's ink uncovered.
      assert.ok(inkNear(crop, clean) >= 0.85, `class ${c}: only ${inkNear(crop, clean).toFixed(2)} of the crop's ink lies on the glyph`);
      assert.ok(inkNear(clean, crop) >= 0.75, `class ${c}: only ${inkNear(clean, crop).toFixed(2)} of the glyph is in the crop`);
    }
  });

  it('a tall thin し stays tall and thin (the aspect ratio is kept), with neighbours above and below', async () => {
    const shi = classByChar('し')!.index;
    const crop = await decodeToK49(pageCrop(column(shi), { ...hard, seed: 'shi' }), PAGE_CROP_LIMITS);
    const clean = renderer.renderClean(modern(shi));
    assert.ok(inkColumns(crop) <= inkColumns(clean) + 3, `し spans ${inkColumns(crop)} columns (clean ${inkColumns(clean)})`);
    assert.ok(inkColumns(crop) < 20, `し spans ${inkColumns(crop)} of 28 columns`);
  });
});
