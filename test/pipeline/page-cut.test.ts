/**
 * The page cutter on rendered pages with known boxes: held-out fonts, kana with kanji among them, on
 * yellowed, unevenly lit, grainy paper, neighbours from 0 to 12 % of a character apart (many touching).
 * Boxes are matched at IoU 0.5 (pipeline/page/score.ts). The rules alone (pipeline/page/cut.ts, which
 * cut datasets), and with the model's judgement (pipeline/page/judged-cut.ts, which the page reader uses).
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { K49Classifier } from '../../pipeline/core/inference';
import { LATEST } from '../../pipeline/core/paths';
import { type CutPage, cutPage } from '../../pipeline/page/cut';
import { cutPageJudged, isCandidatePiece, isFrameLine, touchingRows } from '../../pipeline/page/judged-cut';
import { findCharacters } from '../../pipeline/page/read';
import { scorePage } from '../../pipeline/page/score';
import { scanFonts } from '../../pipeline/synth/fonts';
import { type PageLayout, type RenderedPage, renderPage, turnRenderedPage } from '../../pipeline/synth/pages';

const heldOut = scanFonts(['debian']).available.filter((f) => f.split === 'test');

/** A PNG's RGBA pixels, as the page reader decodes a page no larger than its work size. */
async function pixelsOf(png: Buffer) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, sourceWidth: info.width, sourceHeight: info.height };
}

/** How a test cuts a page's pixels: by the rules alone unless given the model's judgement. */
type Cutter = (pixels: Awaited<ReturnType<typeof pixelsOf>>) => CutPage | Promise<CutPage>;

async function cutRendered(layout: Partial<PageLayout>, cutter: Cutter = (pixels) => cutPage(pixels)) {
  const page = renderPage(heldOut, layout);
  return { page, cut: await cutter(await pixelsOf(page.png)) };
}

/** Summed over pages: recall and precision of the boxes, and the share of columns read in order. */
async function scoreCuts(cuts: Promise<{ truth: RenderedPage['characters']; found: CutPage['characters'] }>[]) {
  let truth = 0,
    found = 0,
    matched = 0,
    inOrder = 0,
    columns = 0;
  for (const cut of cuts) {
    const one = await cut;
    const s = scorePage(one.truth, one.found);
    truth += s.truth;
    found += s.found;
    matched += s.matched;
    inOrder += s.columnsInOrder;
    columns += s.columns;
  }
  return { recall: matched / truth, precision: matched / found, order: inOrder / columns, truth };
}

/** Rendered pages of these layouts, cut as they are. */
const score = (layouts: Partial<PageLayout>[], cutter?: Cutter) =>
  scoreCuts(
    layouts.map(async (layout) => {
      const { page, cut } = await cutRendered(layout, cutter);
      return { truth: page.characters, found: cut.characters };
    }),
  );

/** Pages written as a hand writes: each character's size drawn from half to 1.1 times the nominal, close enough to touch. */
const HANDWRITTEN_SIZES: Partial<PageLayout> = { sizeRange: [0.5, 1.1], gap: 0.02 };

describe('page cutter with the model judging candidate pieces (rendered pages, held-out fonts)', function () {
  this.timeout(600000);
  let model: K49Classifier;
  const judged: Cutter = (pixels) => cutPageJudged(pixels, (images) => model.probabilities(images));
  before(async () => {
    model = await K49Classifier.load(LATEST);
  });
  after(() => model.dispose());

  it('finds the characters at IoU 0.5 (recall >= 0.95, precision >= 0.90) and reads >= 0.95 of the columns in order, on plain, large and framed pages', async () => {
    for (const layout of [{}, { width: 2000, height: 3000, size: 150, columns: 9 }, { frame: { stroke: 6, tilt: 0.6, rules: true } }]) {
      const s = await score(
        ['p1', 'p2', 'p3'].map((seed) => ({ ...layout, seed })),
        judged,
      );
      console.log(`      ${JSON.stringify(layout)}: ${JSON.stringify(s)}`);
      assert.ok(s.recall >= 0.95 && s.precision >= 0.9 && s.order >= 0.95, `${JSON.stringify(layout)}: ${JSON.stringify(s)}`);
    }
  });

  it('follows characters of many sizes, touching, where the rules merge the small ones: recall at least 0.05 above the rules and 0.93, precision not below and 0.92', async () => {
    const seeds = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((seed) => ({ ...HANDWRITTEN_SIZES, seed }));
    const [rules, withModel] = [await score(seeds), await score(seeds, judged)];
    // Measured (the same pages, docs/page-reading.md): the rules 0.786 / 0.848; with the model's judgement 0.910 / 0.910,
    // and 0.937 / 0.929 since the rows where characters touch are candidate cuts (2026-12-07).
    console.log(`      handwritten sizes: ${JSON.stringify({ rules, withModel })}`);
    assert.ok(
      withModel.recall - rules.recall >= 0.05 &&
        withModel.recall >= 0.93 &&
        withModel.precision >= rules.precision &&
        withModel.precision >= 0.92 &&
        withModel.order >= 0.95,
      JSON.stringify({ rules, withModel }),
    );
  });

  it('offers a cut where two characters touch without joining, and none across a stroke, in a gap or between fragments', () => {
    // A column's ink per row (work pixels): rows 10-49 inked without a gap, 60-69 after one; characters 20 rows tall.
    const rows = Array.from({ length: 80 }, (_, y) => Number((y >= 10 && y < 50) || (y >= 60 && y < 70)));
    const cases: { why: string; pieces: [number, number][]; cuts: number[] }[] = [
      // The cut at 30; 50 and 60 are a gap's ends (the gap has its own cut).
      {
        why: "one character's piece ends on row 30, where the next one's begins",
        pieces: [
          [10, 30],
          [30, 50],
          [60, 70],
        ],
        cuts: [30],
      },
      {
        why: 'a stroke spans row 30 (a character joined to its neighbour)',
        pieces: [
          [10, 30],
          [30, 50],
          [25, 36],
        ],
        cuts: [],
      },
      {
        why: 'a dot on a dot (a fifth of a character each), then a character',
        pieces: [
          [10, 14],
          [14, 18],
          [18, 50],
        ],
        cuts: [18],
      },
    ];
    for (const { why, pieces, cuts } of cases) {
      const found = touchingRows(
        pieces.map(([y0, y1]) => ({ y0, y1 })),
        rows,
        20,
      ).sort((a, b) => a - b);
      assert.deepEqual(found, cuts, why);
    }
  });

  /** Asserts a shape rule's answer for pieces [wide, tall, character height] (any one unit). */
  const expectShapes = (rule: (wide: number, tall: number, height: number) => boolean, expected: boolean, pieces: number[][]) => {
    for (const [wide, tall, height] of pieces) assert.equal(rule(wide!, tall!, height!), expected, `${wide} x ${tall} for ${height}`);
  };

  it('tells pieces of a frame from flat kana by their shape (pieces measured on the real pages, page pixels)', () => {
    // Left out: a 3-pixel stroke over a column; a frame's corner 2.2 characters wide; the page's edge below a frame.
    expectShapes(isFrameLine, true, [
      [167, 9, 106],
      [227, 59, 104],
      [345, 101, 92],
    ]);
    // Kept: the flattest and the widest mid-column pieces of the real pages read as へ, one read as つ, a long し.
    expectShapes(isFrameLine, false, [
      [117, 24, 100],
      [166, 54, 97],
      [124, 33, 96],
      [9, 97, 104],
    ]);
  });

  it('judges long pieces only when narrow (pieces measured on the real pages, page pixels)', () => {
    // Candidates since 2026-12-07: a き and a す of book 200010454 with the tails of their joining strokes, 1.5
    // characters tall, which K49's own boxes hold as one character (until then no piece over 1.4 was judged),
    // and any piece up to 1.4 tall.
    expectShapes(isCandidatePiece, true, [
      [57, 140, 93],
      [95, 141, 94],
      [200, 130, 93],
    ]);
    // Not candidates: as tall but twice as wide (a character and the half of its neighbours beside it), and taller than 1.8.
    expectShapes(isCandidatePiece, false, [
      [130, 140, 93],
      [57, 175, 93],
    ]);
  });

  it("gives no box to a flat piece of a frame's line above a column (the model would read it as へ), and finds the characters as well as without it", async () => {
    const page = renderPage(heldOut, { seed: 'l1' });
    const size = Math.max(...page.characters.map((c) => c.box[3]));
    // The page with more paper above its writing (its top row repeated), and on it, well above each column's
    // first character, a stroke a character wide and 3 pixels thick: what is left of a page's frame on real
    // scans once its long lines are erased.
    const top = 2 * size;
    const truth = page.characters.map((c) => ({ ...c, box: [c.box[0], c.box[1] + top, c.box[2], c.box[3]] as typeof c.box }));
    const taller = await sharp(page.png).extend({ top, extendWith: 'copy' }).png().toBuffer();
    const lines = truth
      .filter((c) => c.index === 0)
      .map((c) => `<rect x="${c.box[0]}" y="${c.box[1] - Math.round(1.5 * size)}" width="${Math.round(size * 1.2)}" height="3" fill="#222"/>`);
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${page.width}" height="${page.height + top}">${lines.join('')}</svg>`;
    const lined = await sharp(taller)
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    const [plain, withLines] = [await judged(await pixelsOf(taller)), await judged(await pixelsOf(lined))];
    assert.deepEqual(
      withLines.characters.filter((c) => c.box[3] < size / 10),
      [],
      'boxes on the lines',
    );
    const [a, b] = [scorePage(truth, plain.characters), scorePage(truth, withLines.characters)];
    assert.ok(b.matched >= a.matched - 1 && b.found - b.matched <= a.found - a.matched + 1 && b.columnsInOrder === a.columnsInOrder, JSON.stringify({ a, b }));
  });

  it('is what the page reader cuts with, turned upright when askew, the candidates judged in parts', async () => {
    const page = await turnRenderedPage(renderPage(heldOut, { seed: 't1' }), 4);
    const pixels = await pixelsOf(page.png);
    const asked: number[] = [];
    const { cut, skew } = await findCharacters(pixels, async (images) => {
      asked.push(images.length);
      return model.probabilities(images);
    });
    // Every candidate piece judged, in parts of at most 512 (so a large page does not hold the served model from other requests).
    const judged = asked.reduce((a, b) => a + b, 0) / 784;
    assert.ok(Math.abs(skew - 4) <= 0.5 && judged > cut.characters.length && asked.every((n) => n <= 512 * 784), `${skew}, ${asked}`);
    const s = scorePage(page.characters, cut.characters);
    assert.ok(s.matched / s.truth >= 0.93 && s.matched / s.found >= 0.9, JSON.stringify(s));
  });
});

describe('page cutter by the rules alone, as datasets are cut (rendered pages, held-out fonts)', function () {
  this.timeout(300000);

  it('finds the characters at IoU 0.5 (recall >= 0.95, precision >= 0.90) and reads >= 0.95 of the columns in order', async () => {
    const s = await score(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((seed) => ({ seed })));
    assert.ok(s.truth > 700, `${s.truth} characters`);
    console.log(`      rendered pages: ${JSON.stringify(s)}`);
    assert.ok(s.recall >= 0.95 && s.precision >= 0.9 && s.order >= 0.95, JSON.stringify(s));
  });

  it('holds on a large page (2,000 x 3,000), deep shade and grain, and denser columns', async () => {
    for (const layout of [
      { width: 2000, height: 3000, size: 150, columns: 9 },
      { lightFalloff: 0.6, grain: 0.07 },
      { columns: 11, size: 64 },
    ]) {
      const s = await score([
        { ...layout, seed: 'q1' },
        { ...layout, seed: 'q2' },
      ]);
      // Harder than the pages of the target above: guards against regressions, at the levels measured when written (0.92 / 0.89 in deep shade).
      assert.ok(s.recall >= 0.9 && s.precision >= 0.85 && s.order >= 0.95, `${JSON.stringify(layout)}: ${JSON.stringify(s)}`);
    }
  });

  it('leaves out a printed frame and column rules, thick and askew, as woodblock books have them: no boxes on them, none of the text lost', async () => {
    const seeds = ['f1', 'f2', 'f3'];
    const plain = await score(seeds.map((seed) => ({ seed })));
    for (const frame of [
      { stroke: 6, tilt: 0.6, rules: true },
      { stroke: 10, tilt: -0.8, rules: true },
    ]) {
      const framed = await score(seeds.map((seed) => ({ seed, frame })));
      // Measured when written: within 0.017 / 0.020 of the plain pages (before the frame was erased within a band: 0.054 / 0.065 lower).
      assert.ok(
        plain.recall - framed.recall <= 0.025 && plain.precision - framed.precision <= 0.03,
        `${JSON.stringify(frame)}: ${JSON.stringify({ plain, framed })}`,
      );
    }
  });

  it('turns a page photographed askew (3 to 6 degrees, either way) upright: the turn found within 0.5 degrees, the characters as on a straight page', async () => {
    const seeds = ['t1', 't2'];
    const straight = await score(seeds.map((seed) => ({ seed })));
    for (const degrees of [3, -4, 6]) {
      const skews: number[] = [];
      const turned = await scoreCuts(
        seeds.map(async (seed) => {
          const page = await turnRenderedPage(renderPage(heldOut, { seed }), degrees);
          const { cut, skew } = await findCharacters(await pixelsOf(page.png), null);
          skews.push(skew);
          return { truth: page.characters, found: cut.characters };
        }),
      );
      for (const skew of skews) assert.ok(Math.abs(skew - degrees) <= 0.5, `turned ${degrees}, found ${skew}`);
      // Measured when written: within 0.01 / 0.025 of the straight pages (cut as they were, 3 degrees gave recall 0.77, 5 degrees columns out of order).
      assert.ok(
        straight.recall - turned.recall <= 0.03 && straight.precision - turned.precision <= 0.04 && turned.order >= 0.95,
        `${degrees}: ${JSON.stringify({ straight, turned })}`,
      );
    }
    // A straight scan is cut as it is.
    assert.equal((await findCharacters(await pixelsOf(renderPage(heldOut, { seed: 't1' }).png), null)).skew, 0);
  });

  it('finds nothing on blank paper, and the columns right to left, characters top to bottom', async () => {
    const { cut } = await cutRendered({ columns: 0 as number, seed: 'blank' });
    assert.deepEqual(cut.characters, []);
    const { page, cut: read } = await cutRendered({ seed: 'order' });
    assert.equal(read.columns.length, 8);
    for (let c = 1; c < read.columns.length; c++) assert.ok(read.columns[c]!.x < read.columns[c - 1]!.x, 'columns run right to left');
    for (const ch of read.characters.slice(1)) {
      const before = read.characters[read.characters.indexOf(ch) - 1]!;
      if (before.column === ch.column) assert.ok(ch.box[1] > before.box[1] && ch.index === before.index + 1);
    }
    assert.ok(page.characters.length > 100);
  });
});
