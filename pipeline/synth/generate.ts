/**
 * `k49 synth`: writes a synthetic data set in exactly the official K49 file
 * format. Train images come from the train fonts, test images from held-out
 * fonts. Deterministic for a seed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { classMapCsv, K49_CLASSES, NUM_CLASSES } from '../core/classes';
import { PIXELS, type Split, saveSplit } from '../core/dataset';
import { Random } from '../core/random';
import { DEFAULT_SYNTH, type SynthConfig } from './config';
import { FONT_PACKAGES, type FontSpec, type GlyphSource, glyphSources, scanFonts } from './fonts';
import { GlyphRenderer } from './render';

export interface SynthReport {
  config: SynthConfig;
  fonts: { train: string[]; test: string[]; missing: string[] };
  /** Per font: the classes it gave glyphs for, by kind (the synthetic data's provenance). */
  glyphs_by_font: { font: string; package: string; split: 'train' | 'test'; modern: string; hentaigana: string }[];
  sources: { classId: number; char: string; train: { modern: number; hentaigana: number }; test: { modern: number; hentaigana: number } }[];
  counts: Record<Split, number>;
  seconds: number;
}

/** A font's name in records: the file name (Debian) or the package (npm). */
const fontName = (f: FontSpec) => (f.set === 'npm' ? f.package : path.basename(f.file));

function countKinds(sources: GlyphSource[]) {
  return {
    modern: sources.filter((s) => s.kind === 'modern').length,
    hentaigana: sources.filter((s) => s.kind === 'hentaigana').length,
  };
}

/**
 * Picks a source: first modern vs hentaigana (by `hentaiganaShare`), then a
 * font uniformly, then a form within it, so fonts with many hentaigana forms
 * do not drown the others.
 */
function pickSource(sources: GlyphSource[], share: number, rng: Random): GlyphSource {
  const hentaigana = sources.filter((s) => s.kind === 'hentaigana');
  const pool = hentaigana.length > 0 && rng.chance(share) ? hentaigana : sources.filter((s) => s.kind === 'modern');
  const usable = pool.length > 0 ? pool : sources;
  const fonts = [...new Set(usable.map((s) => s.font.file))];
  const font = rng.pick(fonts);
  return rng.pick(usable.filter((s) => s.font.file === font));
}

function renderSplit(perClass: GlyphSource[][], count: number, config: SynthConfig, split: Split) {
  const rng = new Random(`${config.seed}:${split}`);
  const renderer = new GlyphRenderer(config.render);
  const total = count * NUM_CLASSES;
  const images = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  // Interleave classes (0,1,...,48,0,1,...) so neighbour fragments mix classes.
  for (let i = 0; i < total; i++) {
    const classId = i % NUM_CLASSES;
    const src = pickSource(perClass[classId]!, config.hentaiganaShare, rng);
    images.set(renderer.render(src, rng), i * PIXELS);
    labels[i] = classId;
  }
  return { images, labels, count: total };
}

export async function generateSynthetic(outDir: string, config: SynthConfig = DEFAULT_SYNTH, log = console.error): Promise<SynthReport> {
  const started = Date.now();
  const { available, missing } = scanFonts(config.fontSets);
  const train = available.filter((f) => f.split === 'train');
  const test = available.filter((f) => f.split === 'test');
  if (train.length === 0 || test.length === 0) {
    throw new Error(
      `No Japanese fonts found for the ${train.length === 0 ? 'train' : 'test'} split. Install them with \`make setup\` ` +
        `(Debian packages: ${FONT_PACKAGES.join(' ')}).`,
    );
  }
  if (missing.length > 0) log(`synth: ${missing.length} catalogue fonts are not installed and are skipped: ${missing.map(fontName).join(', ')}`);
  const trainSources = glyphSources(train);
  const testSources = glyphSources(test);
  const lacking = K49_CLASSES.filter((c) => trainSources[c.index]!.length === 0 || testSources[c.index]!.length === 0);
  if (lacking.length > 0) throw new Error(`No font draws ${lacking.map((c) => c.char).join(' ')}; install the catalogue fonts with \`make setup\`.`);

  await fs.mkdir(outDir, { recursive: true });
  const counts = { train: 0, test: 0 };
  for (const [split, perClass, n] of [
    ['train', trainSources, config.trainPerClass],
    ['test', testSources, config.testPerClass],
  ] as const) {
    log(`synth: rendering ${split}: ${n} x 49 images from ${(split === 'train' ? train : test).length} fonts`);
    const data = renderSplit(perClass, n, config, split);
    await saveSplit(outDir, split, data);
    counts[split] = data.count;
  }
  await fs.writeFile(path.join(outDir, 'k49_classmap.csv'), classMapCsv());
  const report: SynthReport = {
    config,
    fonts: {
      train: train.map(fontName),
      test: test.map(fontName),
      missing: missing.map(fontName),
    },
    glyphs_by_font: [...train, ...test].map((f) => {
      const of = (kind: GlyphSource['kind']) =>
        K49_CLASSES.filter((c) => (f.split === 'train' ? trainSources : testSources)[c.index]!.some((g) => g.font === f && g.kind === kind))
          .map((c) => c.char)
          .join('');
      return { font: fontName(f), package: f.package, split: f.split, modern: of('modern'), hentaigana: of('hentaigana') };
    }),
    sources: K49_CLASSES.map((c) => ({
      classId: c.index,
      char: c.char,
      train: countKinds(trainSources[c.index]!),
      test: countKinds(testSources[c.index]!),
    })),
    counts,
    seconds: (Date.now() - started) / 1000,
  };
  await fs.writeFile(path.join(outDir, 'synth.json'), `${JSON.stringify(report, null, 2)}\n`);
  log(`synth: wrote ${counts.train} train and ${counts.test} test images to ${outDir} in ${report.seconds.toFixed(1)} s`);
  return report;
}
