/**
 * The page cutter by the rules alone against the cutter with the model's judgement, on the same rendered
 * pages (held-out fonts, seeds p1-p6) of each layout the tests use and of handwritten sizes: recall,
 * precision and reading order at IoU 0.5, and the judged cut's time a page. The figures in
 * docs/page-reading.md. Run: npx tsx scripts/compare-page-cutters.ts [seed prefix, default p]
 */
import sharp from 'sharp';
import { K49Classifier } from '../pipeline/core/inference';
import { LATEST } from '../pipeline/core/paths';
import { cutPage } from '../pipeline/page/cut';
import { cutPageJudged } from '../pipeline/page/judged-cut';
import { scorePage } from '../pipeline/page/score';
import { scanFonts } from '../pipeline/synth/fonts';
import { type PageLayout, renderPage } from '../pipeline/synth/pages';

const LAYOUTS: [string, Partial<PageLayout>][] = [
  ['plain', {}],
  ['large', { width: 2000, height: 3000, size: 150, columns: 9 }],
  ['denser', { columns: 11, size: 64 }],
  ['deep shade', { lightFalloff: 0.6, grain: 0.07 }],
  ['framed 6 px', { frame: { stroke: 6, tilt: 0.6, rules: true } }],
  ['framed 10 px', { frame: { stroke: 10, tilt: -0.8, rules: true } }],
  ['handwritten sizes', { sizeRange: [0.5, 1.1], gap: 0.02 }],
];

async function main() {
  const fonts = scanFonts(['debian']).available.filter((f) => f.split === 'test');
  const model = await K49Classifier.load(LATEST);
  const judge = (images: Uint8Array) => model.probabilities(images);
  const prefix = process.argv[2] ?? 'p';
  for (const [name, layout] of LAYOUTS) {
    const sums = { rules: [0, 0, 0, 0, 0], judged: [0, 0, 0, 0, 0] };
    let ms = 0;
    for (let k = 1; k <= 6; k++) {
      const rendered = renderPage(fonts, { ...layout, seed: `${prefix}${k}` });
      const { data, info } = await sharp(rendered.png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const page = { data, width: info.width, height: info.height };
      const t0 = performance.now();
      const judged = await cutPageJudged(page, judge);
      ms += performance.now() - t0;
      for (const [which, cut] of [
        ['rules', cutPage(page)],
        ['judged', judged],
      ] as const) {
        const s = scorePage(rendered.characters, cut.characters);
        const sum = sums[which];
        [s.truth, s.found, s.matched, s.columnsInOrder, s.columns].forEach((v, i) => {
          sum[i]! += v;
        });
      }
    }
    const line = (s: number[]) => `recall ${(s[2]! / s[0]!).toFixed(3)} precision ${(s[2]! / s[1]!).toFixed(3)} order ${(s[3]! / s[4]!).toFixed(3)}`;
    console.log(`${name.padEnd(18)} rules: ${line(sums.rules)} | judged: ${line(sums.judged)} | judged cut ${Math.round(ms / 6)} ms a page`);
  }
  model.dispose();
}

main();
