/**
 * Training on several sources (DATA=a,b:2): parsing, joining with each
 * image's source, source-weighted class-balanced sampling, the artifact's
 * record of every source, and the per-group figures of `make evaluate`
 * (classes with real training images, and the others) from that record.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classById } from '../../pipeline/core/classes';
import type { GroupFigure } from '../../pipeline/core/metrics';
import { PSEUDO_LABELS_DIR } from '../../pipeline/core/paths';
import { Random } from '../../pipeline/core/random';
import { classesWithRealImages, type SourceRecord } from '../../pipeline/core/records';
import { loadSources, parseSources } from '../../pipeline/data/sources';
import { evaluate } from '../../pipeline/evaluate/evaluate';
import { DEFAULT_SYNTH } from '../../pipeline/synth/config';
import { generateSynthetic } from '../../pipeline/synth/generate';
import { DEFAULT_TRAIN, mergeTrainConfig } from '../../pipeline/train/config';
import { train } from '../../pipeline/train/loop';
import { sampleEpoch, sourceCandidates } from '../../pipeline/train/sampling';
import { KMNIST_REAL_DIR, REAL_SAMPLE_DIR, tempDir } from '../helpers/paths';

const KMNIST_CLASSES = [4, 6, 12, 17, 20, 25, 30, 35, 41, 46]; // お き す つ な は ま や れ を

describe('training data from several sources', function () {
  this.timeout(300000);
  let synth: string;
  before(async () => {
    synth = tempDir('k49-synth-');
    await generateSynthetic(synth, { ...DEFAULT_SYNTH, trainPerClass: 6, testPerClass: 2 }, () => {});
  });

  it('parses DATA: directories with optional weights; a bad weight is a clear error', () => {
    assert.deepEqual(parseSources('data/synth'), [{ dir: 'data/synth', weight: 1 }]);
    assert.deepEqual(parseSources('data/synth, ../shared/data/kmnist-real:2.5'), [
      { dir: 'data/synth', weight: 1 },
      { dir: '../shared/data/kmnist-real', weight: 2.5 },
    ]);
    for (const bad of ['a:0', 'a:-1', 'a:x', 'a:']) assert.throws(() => parseSources(bad), /weight of 'a' must be a positive number/);
    assert.throws(() => parseSources(' , '), /names no directory/);
  });

  it("joins the sources, remembers each image's source, and records name, kind, weight, counts per class and md5", async () => {
    const mixed = await loadSources([
      { dir: synth, weight: 1 },
      { dir: KMNIST_REAL_DIR, weight: 2 },
    ]);
    assert.equal(mixed.count, 49 * 6 + 7011);
    assert.equal(mixed.source.filter((s) => s === 0).length, 49 * 6);
    assert.equal(mixed.source.filter((s) => s === 1).length, 7011);
    const [a, b] = mixed.sources as [SourceRecord, SourceRecord];
    assert.deepEqual([a.kind, a.weight, a.images], ['synthetic', 1, 294]);
    assert.deepEqual([b.kind, b.weight, b.images, b.name, b.dir], ['real', 2, 7011, 'kmnist-real', '../shared/data/kmnist-real']);
    assert.deepEqual(a.class_counts, Array(49).fill(6));
    assert.deepEqual(
      b.class_counts.map((n, c) => (n > 0 ? c : -1)).filter((c) => c >= 0),
      KMNIST_CLASSES,
    );
    assert.equal(b.md5['k49-train-labels.npz']!.length, 32);
    assert.deepEqual(
      [...classesWithRealImages(mixed.sources)].sort((x, y) => x - y),
      KMNIST_CLASSES,
    );
    await assert.rejects(loadSources([{ dir: tempDir(), weight: 1 }]), /has no k49-train-imgs\.npz/);
  });

  it("gives each image its source's classes as the candidates of the source-class loss", async () => {
    const mixed = await loadSources([
      { dir: synth, weight: 1 },
      { dir: KMNIST_REAL_DIR, weight: 1 },
    ]);
    const firstReal = 49 * 6;
    const rows = sourceCandidates(mixed, [0, firstReal, 5]);
    const candidatesOf = (k: number) => [...rows.subarray(k * 49, (k + 1) * 49)].flatMap((v, c) => (v === 1 ? [c] : []));
    assert.deepEqual(
      candidatesOf(0),
      Array.from({ length: 49 }, (_, c) => c),
    );
    assert.deepEqual(candidatesOf(1), KMNIST_CLASSES);
    assert.deepEqual(
      candidatesOf(2),
      Array.from({ length: 49 }, (_, c) => c),
    );
  });

  it('samples class-balanced over the union, each image weighted by its source', () => {
    // Two sources with the same 4 classes and 1,000 images each; the second weighs 3.
    const labels = Uint8Array.from({ length: 2000 }, (_, i) => i % 4);
    const source = (i: number) => (i < 1000 ? 1 : 3);
    const train = Array.from({ length: 2000 }, (_, i) => i);
    const drawn = Array.from({ length: 20 }, (_, e) => sampleEpoch(train, labels, 0.5, new Random(`t:${e}`), source)).flat();
    const fromSecond = drawn.filter((i) => i >= 1000).length / drawn.length;
    assert.ok(Math.abs(fromSecond - 0.75) < 0.01, `share from the weight-3 source: ${fromSecond}`);
    const perClass = [0, 1, 2, 3].map((c) => drawn.filter((i) => labels[i] === c).length / drawn.length);
    for (const p of perClass) assert.ok(Math.abs(p - 0.25) < 0.01, `class shares ${perClass.join(' ')}`);
  });

  it('a model trained on synthetic + real + pseudo-labelled records its sources; make evaluate reports both groups (labelled by people or not) and its card names them', async () => {
    const out = path.join(tempDir('k49-art-'), 'mixed');
    const config = mergeTrainConfig(DEFAULT_TRAIN, { epochs: 1, maxTrainImages: 1500, model: { widths: [8, 16, 16], denseUnits: 32 }, batchSize: 64 });
    await train({ data: `${synth},${KMNIST_REAL_DIR}:2,${PSEUDO_LABELS_DIR}`, out, config, progress: false, log: () => {} });
    const record = JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8')) as { data: { name: string; sources: SourceRecord[] } };
    assert.equal(record.data.name, `${path.basename(synth)}+kmnist-real+pseudo-labels-200010454`);
    assert.deepEqual(
      record.data.sources.map((s) => [s.kind, s.weight]),
      [
        ['synthetic', 1],
        ['real', 2],
        ['pseudo-labelled', 1],
      ],
    );

    const lines: string[] = [];
    await evaluate({ data: REAL_SAMPLE_DIR, model: out, out, log: (l) => lines.push(l) });
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      accuracy: number;
      groups: {
        real_training_images: GroupFigure & { mean_recall: number; ci95: [number, number] };
        no_real_training_images: GroupFigure & { mean_recall: number; ci95: [number, number] };
      };
      per_class: { class_id: number; recall: number; support: number }[];
    };
    assert.deepEqual(metrics.groups.real_training_images.classes, KMNIST_CLASSES);
    assert.equal(metrics.groups.no_real_training_images.classes.length, 31, 'the 41 classes of the real sample, less those 10');
    const recall = (ids: number[]) => ids.reduce((a, c) => a + metrics.per_class[c]!.recall, 0) / ids.length;
    assert.ok(Math.abs(metrics.groups.real_training_images.mean_recall - recall(KMNIST_CLASSES)) < 1e-12);
    assert.ok(Math.abs(metrics.groups.no_real_training_images.mean_recall - recall(metrics.groups.no_real_training_images.classes)) < 1e-12);
    // Each group's figure comes with its bootstrap interval.
    for (const g of [metrics.groups.real_training_images, metrics.groups.no_real_training_images])
      assert.ok(g.ci95[0] <= g.mean_recall && g.mean_recall <= g.ci95[1], JSON.stringify(g));
    assert.ok(
      lines.some((l) =>
        /mean recall, classes with labelled real training images +\d\.\d{4} over 10 classes \(95% bootstrap interval \d\.\d{3}-\d\.\d{3}\)/.test(l),
      ),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /^accuracy/.test(l)));
    const card = readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8');
    assert.match(
      card,
      new RegExp(`Classes with real training images labelled by people \\(10\\): ${KMNIST_CLASSES.map((c) => classById(c).char).join(' ')}\\.`),
    );
    assert.match(card, /Classes whose real training images were labelled by a model only \(38\)/);
    assert.match(card, /Classes trained on synthetic images only \(1\): ゝ\./);
    assert.match(card, /over the classes with labelled real training images/);
  });
});
