import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { K49_CLASSES } from '../../pipeline/core/classes';
import { type EdaReport, pixelStats, runEda } from '../../pipeline/eda/eda';
import { classDistributionPng } from '../../pipeline/report/images';
import { DEFAULT_SYNTH } from '../../pipeline/synth/config';
import { generateSynthetic } from '../../pipeline/synth/generate';
import { OFFICIAL_DIR, REAL_SAMPLE_DIR, tempDir } from '../helpers/paths';

const quiet = () => {};

describe('EDA report', function () {
  this.timeout(120000);

  it('on the official label files: the distribution part with the official counts', async () => {
    const out = tempDir('k49-eda-');
    const r = await runEda(OFFICIAL_DIR, out, quiet);
    const train = r.splits.find((s) => s.split === 'train')!;
    assert.equal(train.count, 232365);
    assert.equal(train.class_counts[0], 6000); // あ
    assert.equal(train.class_counts[45], 392); // ゑ
    assert.equal(train.imbalance_ratio, 6000 / 392);
    assert.deepEqual(
      r.rare_classes.map((c) => c.char),
      ['え', 'ゐ', 'ゑ'],
    );
    assert.equal(train.images, undefined); // labels only
    const html = readFileSync(path.join(out, 'eda.html'), 'utf8');
    assert.match(html, /Class distribution/);
    assert.match(html, /"title":\{"text":"class \(character\)"\}/, 'the interactive chart names its x axis');
    assert.ok(!/<script[^>]+src="https?:/.test(html), 'no CDN');
    assert.ok(existsSync(path.join(out, 'class-distribution.png')));
    assert.deepEqual((JSON.parse(readFileSync(path.join(out, 'eda.json'), 'utf8')) as EdaReport).splits[0]!.class_counts, train.class_counts);
  });

  it('the class-distribution figure names its axes, every class by its character, and each split', () => {
    const drawn: string[] = [];
    const png = classDistributionPng(
      [
        { name: 'train', counts: K49_CLASSES.map(() => 6000) },
        { name: 'test', counts: K49_CLASSES.map(() => 1000) },
      ],
      K49_CLASSES.map((c) => c.char),
      (t) => drawn.push(t),
    );
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    for (const c of K49_CLASSES) assert.ok(drawn.includes(c.char), `class label ${c.char}`);
    for (const t of ['images', 'class (character)', 'train', 'test', '0', '6000']) assert.ok(drawn.includes(t), `text '${t}'`);
  });

  it('on the real sample (test files only): pixel, ink and duplicate statistics and image grids', async () => {
    const out = tempDir('k49-eda-');
    const r = await runEda(REAL_SAMPLE_DIR, out, quiet);
    assert.equal(r.splits.length, 1);
    const test = r.splits[0]!;
    assert.equal(test.count, 2092);
    assert.equal(test.classes_present, 41);
    assert.ok(test.images!.pixel_mean > 30 && test.images!.pixel_mean < 70);
    assert.ok(test.images!.ink_coverage.mean > 0.05);
    assert.equal(test.images!.per_class.length, 49);
    for (const f of ['test-class-means.png', 'test-samples.png', 'eda.html']) assert.ok(existsSync(path.join(out, f)), f);
    assert.equal(r.duplicates_across_splits, null);
  });

  it('on a full set: both splits and duplicates across them', async () => {
    const data = tempDir('k49-synth-');
    await generateSynthetic(data, { ...DEFAULT_SYNTH, trainPerClass: 3, testPerClass: 2 }, quiet);
    const r = await runEda(data, tempDir('k49-eda-'), quiet);
    assert.deepEqual(
      r.splits.map((s) => s.split),
      ['train', 'test'],
    );
    assert.equal(typeof r.duplicates_across_splits, 'number');
  });

  it('computes pixel mean and standard deviation exactly', () => {
    const s = pixelStats(Uint8Array.from([0, 0, 255, 255]));
    assert.equal(s.mean, 127.5);
    assert.equal(s.std, 127.5);
  });
});
