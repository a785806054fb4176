import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classById } from '../../pipeline/core/classes';
import { classCounts, loadSplit, PIXELS } from '../../pipeline/core/dataset';
import { Random } from '../../pipeline/core/random';
import { DEFAULT_SYNTH } from '../../pipeline/synth/config';
import { FONT_CATALOGUE, glyphSources, HENTAIGANA, hentaiganaClass, scanFonts } from '../../pipeline/synth/fonts';
import { generateSynthetic } from '../../pipeline/synth/generate';
import { GlyphRenderer } from '../../pipeline/synth/render';
import { tempDir } from '../helpers/paths';

describe('synthetic K49 data', () => {
  const small = { ...DEFAULT_SYNTH, trainPerClass: 4, testPerClass: 2 };
  let dirA: string;
  before(async function () {
    this.timeout(120000);
    dirA = tempDir();
    await generateSynthetic(dirA, small, () => {});
  });

  it('covers all 49 classes in both splits and reads back through the loader', async () => {
    const train = await loadSplit(dirA, 'train');
    const test = await loadSplit(dirA, 'test');
    assert.equal(train.count, 49 * 4);
    assert.equal(test.count, 49 * 2);
    assert.deepEqual(classCounts(train.labels), new Array(49).fill(4));
    assert.deepEqual(classCounts(test.labels), new Array(49).fill(2));
    assert.equal(readFileSync(path.join(dirA, 'k49_classmap.csv'), 'utf8').split('\n')[1], '0,U+3042,あ');
  });

  it('draws K49-style images: white ink on black, glyph fitted to 28 px', async () => {
    const { images, count } = await loadSplit(dirA, 'train');
    let touching = 0;
    for (let n = 0; n < count; n++) {
      const img = images.subarray(n * 784, (n + 1) * 784);
      const background = img.filter((v) => v < 64).length / 784;
      assert.ok(background > 0.3, `image ${n} is not ink on a dark background (${background} dark)`);
      assert.ok(Math.max(...img) > 200, `image ${n} has no bright ink`);
      let x0 = 28,
        x1 = -1,
        y0 = 28,
        y1 = -1;
      img.forEach((v, i) => {
        if (v > 64) {
          x0 = Math.min(x0, i % 28);
          x1 = Math.max(x1, i % 28);
          y0 = Math.min(y0, Math.floor(i / 28));
          y1 = Math.max(y1, Math.floor(i / 28));
        }
      });
      if (Math.max(x1 - x0, y1 - y0) >= 25) touching++;
    }
    assert.ok(touching / count > 0.8, `only ${touching}/${count} glyphs span the frame like K49`);
  });

  it('is deterministic for a seed and changes with the seed', async () => {
    const dirB = tempDir();
    await generateSynthetic(dirB, small, () => {});
    const a = await loadSplit(dirA, 'train');
    const b = await loadSplit(dirB, 'train');
    assert.ok(Buffer.from(a.images).equals(Buffer.from(b.images)), 'same seed gave different images');
    const dirC = tempDir();
    await generateSynthetic(dirC, { ...small, seed: small.seed + 1, testPerClass: 1 }, () => {});
    const c = await loadSplit(dirC, 'train');
    assert.ok(!Buffer.from(a.images).equals(Buffer.from(c.images)), 'another seed gave the same images');
  });

  it('renders the test split from fonts held out of the train split', () => {
    const report = JSON.parse(readFileSync(path.join(dirA, 'synth.json'), 'utf8')) as { fonts: { train: string[]; test: string[] } };
    assert.ok(report.fonts.test.length >= 3);
    assert.deepEqual(
      report.fonts.train.filter((f) => report.fonts.test.includes(f)),
      [],
    );
    assert.equal(scanFonts(['debian', 'npm']).missing.length, 0, 'setup installs every catalogue font (Debian packages and npm devDependencies)');
    assert.equal(new Set(FONT_CATALOGUE.map((f) => f.file)).size, FONT_CATALOGUE.length);
  });

  it('maps Unicode hentaigana to their modern class by name', () => {
    assert.equal(classById(hentaiganaClass('HENTAIGANA LETTER KA-3')!).char, 'か');
    assert.equal(classById(hentaiganaClass('HENTAIGANA LETTER TU-2')!).char, 'つ');
    assert.equal(classById(hentaiganaClass('HENTAIGANA LETTER WI-1')!).char, 'ゐ');
    assert.equal(classById(hentaiganaClass('HENTAIGANA LETTER HU-1')!).char, 'ふ');
    // Letters named with several readings belong to no single class.
    assert.equal(hentaiganaClass('HENTAIGANA LETTER N-MU-MO-1'), null);
    assert.equal(hentaiganaClass('HENTAIGANA LETTER KA-KE'), null);
    assert.equal(HENTAIGANA.length, 285 - 11);
    assert.equal(HENTAIGANA.find((h) => h.codepoint === 0x1b002)?.classId, 0); // HENTAIGANA LETTER A-1
  });

  it('loads the npm fonts from their woff2 slices; each renders every class it claims, and synth.json records which font gave which glyphs', async function () {
    this.timeout(120000);
    const npm = scanFonts(['npm']).available;
    assert.ok(npm.length >= 10 && npm.some((f) => f.split === 'test'), 'npm fonts in both splits');
    const renderer = new GlyphRenderer();
    const rng = new Random('npm-fonts');
    // A font of the Unicode hentaigana block alone draws the classes that have such forms; the others draw the kana (but ゝ at most).
    const withUnicodeHentaigana = new Set(HENTAIGANA.map((h) => h.classId)).size;
    for (const font of npm) {
      const perClass = glyphSources([font]);
      const claimed = perClass.filter((g) => g.length > 0).length;
      const kana = perClass.flat().some((g) => g.codepoint === classById(g.classId).char.codePointAt(0));
      assert.ok(claimed >= (kana ? 48 : withUnicodeHentaigana), `${font.package} draws ${claimed} of the 49 classes`);
      for (const glyphs of perClass) {
        for (const g of glyphs) {
          const img = renderer.render(g, rng);
          assert.equal(img.length, PIXELS);
          assert.ok(Math.max(...img) > 128, `${font.package} renders U+${g.codepoint.toString(16)} blank`);
        }
      }
      if (font.modernAsHentaigana)
        assert.ok(
          perClass.flat().every((g) => g.kind === 'hentaigana'),
          `${font.package}'s kana are hentaigana forms`,
        );
    }
    const dir = tempDir();
    const report = await generateSynthetic(dir, { ...small, fontSets: ['debian', 'npm'] }, () => {});
    const akebono = report.glyphs_by_font.find((f) => f.package === '@fontsource/yuji-hentaigana-akebono')!;
    assert.equal([...akebono.hentaigana].length, 48);
    assert.equal(akebono.modern, '');
    assert.ok(report.fonts.test.includes('@fontsource/yuji-mai'));
    const noto = report.glyphs_by_font.find((f) => f.package === '@fontsource/noto-serif-hentaigana')!;
    assert.equal(noto.modern, '');
    assert.equal([...noto.hentaigana].length, withUnicodeHentaigana, 'the second design of the Unicode hentaigana block covers every class that has one');
    const debianOnly = report.glyphs_by_font.filter((f) => !f.package.startsWith('@fontsource/'));
    assert.ok(debianOnly.length > 0 && debianOnly.every((f) => [...f.modern].length >= 46), 'the Debian fonts keep their modern kana');
  });
});
