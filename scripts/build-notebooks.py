#!/usr/bin/env python3
"""Writes the sources of notebooks/*.ipynb (tslab TypeScript kernel), without
outputs. `make notebooks` then executes them in place, so the committed
notebooks carry outputs from a real run. Edit here, rebuild, re-run."""
import json, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNEL = {"kernelspec": {"display_name": "TypeScript", "language": "typescript", "name": "tslab"},
          "language_info": {"name": "typescript"}}

SETUP = """// The pipeline modules are TypeScript: register tsx, then require them (one source of truth, no copies).
require('tsx/cjs');
const tslab = require('tslab');
const dfd = require('danfojs-node');
const { plotlyScriptTag, plotlyDiv } = require('../pipeline/report/plotly');
// Plotly is inlined once here (no CDN); later cells draw into it.
tslab.display.html(plotlyScriptTag() + '<p>Plotly loaded.</p>');"""

def nb(name, cells):
    out = []
    for i, (kind, src) in enumerate(cells):
        c = {"cell_type": kind, "id": f"{name[:2]}-{i}", "metadata": {}, "source": src.strip("\n").splitlines(keepends=True)}
        if kind == "code":
            c.update({"execution_count": None, "outputs": []})
        out.append(c)
    (ROOT / "notebooks" / name).write_text(json.dumps({"cells": out, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}, indent=1, ensure_ascii=False) + "\n")

nb("01-eda.ipynb", [
    ("markdown", """# K49: exploratory data analysis

The same analysis as `make eda`, through `pipeline/eda.ts`: the official label files
(`../shared/data/k49`, distribution only), the 2,092 real sample images, and the synthetic set."""),
    ("code", SETUP),
    ("code", """const { runEda } = require('../pipeline/eda');
const { K49_CLASSES } = require('../pipeline/classes');
const os = require('os'), path = require('path'), fs = require('fs');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'k49-nb-eda-'));
const official = await runEda('../../shared/data/k49', path.join(out, 'k49'), () => {});
const [train, test] = official.splits;
const counts = new dfd.DataFrame(K49_CLASSES.map((c) => ({ class_id: c.index, char: c.char, train: train.class_counts[c.index], test: test.class_counts[c.index] })));
console.log(`train ${train.count} images, test ${test.count}; imbalance (max/min) train ${train.imbalance_ratio.toFixed(1)}, test ${test.imbalance_ratio.toFixed(1)}`);
console.log('classes with fewer than 1,000 training images:', official.rare_classes.map((r) => `${r.char} ${r.train_count}`).join(', '));
// Rows labelled by character (a bare row number would read like a class id).
counts.sortValues('train', { ascending: true }).head(8).setIndex({ column: 'char', drop: true }).print();"""),
    ("code", """const chars = K49_CLASSES.map((c) => c.char);
tslab.display.html(plotlyDiv('dist', { title: 'Class distribution (official labels)', data: [
  { type: 'bar', name: 'train', x: chars, y: train.class_counts },
  { type: 'bar', name: 'test', x: chars, y: test.class_counts }], layout: { barmode: 'group', xaxis: { type: 'category' } } }));
tslab.display.png(fs.readFileSync(path.join(out, 'k49', 'class-distribution.png')));"""),
    ("markdown", """## The real sample: pixels, ink and shapes"""),
    ("code", """const real = await runEda('../../shared/data/real-sample', path.join(out, 'real'), () => {});
const s = real.splits[0];
console.log(`pixel mean ${s.images.pixel_mean.toFixed(2)}, std ${s.images.pixel_std.toFixed(2)} (0..255); mean ink coverage ${(100 * s.images.ink_coverage.mean).toFixed(1)} %; exact duplicates ${s.images.duplicates_within}`);
const perClass = new dfd.DataFrame(s.images.per_class.filter((c) => s.class_counts[c.class_id] > 0).map((c) => ({ char: c.char, images: s.class_counts[c.class_id], ink_pct: +(100 * c.ink_mean).toFixed(1), bbox_w: +c.bbox_width_mean.toFixed(1), bbox_h: +c.bbox_height_mean.toFixed(1) })));
perClass.describe().print();
tslab.display.html(plotlyDiv('ink', { title: 'Ink coverage per image (real sample)', data: [{ type: 'bar', x: s.images.ink_coverage.histogram.map((_, i) => `${i * 3}-${i * 3 + 3} %`), y: s.images.ink_coverage.histogram }] }));"""),
    ("code", """tslab.display.png(fs.readFileSync(path.join(out, 'real', 'test-samples.png')));"""),
    ("code", """tslab.display.png(fs.readFileSync(path.join(out, 'real', 'test-class-means.png')));"""),
    ("markdown", """## The synthetic set (font renderings)

A small set rendered here with `pipeline/synth` (the bundled model used 2,000 per class)."""),
    ("code", """const { generateSynthetic, DEFAULT_SYNTH } = require('../pipeline/synth/generate');
const synthDir = path.join(out, 'synth');
await generateSynthetic(synthDir, { ...DEFAULT_SYNTH, trainPerClass: 10, testPerClass: 4 }, () => {});
const synth = await runEda(synthDir, path.join(out, 'synth-eda'), () => {});
console.log(synth.splits.map((x) => `${x.split}: ${x.count} images, pixel mean ${x.images.pixel_mean.toFixed(2)}, ink ${(100 * x.images.ink_coverage.mean).toFixed(1)} %`).join('\\n'));
tslab.display.png(fs.readFileSync(path.join(out, 'synth-eda', 'train-samples.png')));"""),
])

nb("02-train.ipynb", [
    ("markdown", """# Training a small model

`pipeline/train.ts` with a small configuration on a small synthetic set, to show the loop,
its records and curves. The real recipe is `DEFAULT_TRAIN` (`make train`)."""),
    ("code", SETUP),
    ("code", """const os = require('os'), path = require('path'), fs = require('fs');
const { generateSynthetic, DEFAULT_SYNTH } = require('../pipeline/synth/generate');
const { train, DEFAULT_TRAIN, mergeConfig } = require('../pipeline/train');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k49-nb-train-'));
await generateSynthetic(path.join(dir, 'data'), { ...DEFAULT_SYNTH, trainPerClass: 30, testPerClass: 6 }, () => {});
const trainConfig = mergeConfig(DEFAULT_TRAIN, { epochs: 4, batchSize: 64, model: { widths: [16, 32, 64], denseUnits: 128 } });
console.log(JSON.stringify(trainConfig.model));"""),
    ("code", """const result = await train({ data: path.join(dir, 'data'), out: path.join(dir, 'artifact'), config: trainConfig, progress: false, log: (l) => console.log(l) });"""),
    ("code", """const h = result.history;
new dfd.DataFrame(h.map((r) => ({ epoch: r.epoch, lr: +r.learning_rate.toExponential(2), loss: +r.loss.toFixed(4), acc: +r.accuracy.toFixed(4), val_balanced: +r.val_balanced_accuracy.toFixed(4), img_s: Math.round(r.images_per_second) }))).setIndex({ column: 'epoch', drop: true }).print();
const epochs = h.map((r) => r.epoch);
tslab.display.html(plotlyDiv('curves', { title: 'Training curves', data: [
  { type: 'scatter', name: 'loss', x: epochs, y: h.map((r) => r.loss) },
  { type: 'scatter', name: 'train accuracy', x: epochs, y: h.map((r) => r.accuracy), yaxis: 'y2' },
  { type: 'scatter', name: 'validation balanced accuracy', x: epochs, y: h.map((r) => r.val_balanced_accuracy), yaxis: 'y2' }],
  layout: { yaxis: { title: 'loss' }, yaxis2: { title: 'accuracy', overlaying: 'y', side: 'right', range: [0, 1] } } }));
const { linePng } = require('../pipeline/report/images');
tslab.display.png(linePng('loss (red), train accuracy (blue), validation balanced accuracy (green)', epochs, [
  { name: 'loss', ys: h.map((r) => r.loss), colour: '#b5452b' },
  { name: 'train acc', ys: h.map((r) => r.accuracy), colour: '#2f6db5' },
  { name: 'val balanced', ys: h.map((r) => r.val_balanced_accuracy), colour: '#2f7d4f' }]));"""),
])

nb("03-evaluate.ipynb", [
    ("markdown", """# Evaluating the bundled model

`pipeline/evaluate.ts` on the real sample (2,092 real K49 test images, 41 classes) with the bundled
default model (`artifacts/latest`, trained on synthetic font renderings only)."""),
    ("code", SETUP),
    ("code", """const os = require('os'), path = require('path'), fs = require('fs');
const { evaluate } = require('../pipeline/evaluate');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'k49-nb-eval-'));
const { metrics } = await evaluate({ data: '../../shared/data/real-sample', model: '../artifacts/latest', out, log: (l) => console.log(l) });"""),
    ("code", """const report = new dfd.DataFrame(metrics.per_class.filter((c) => c.support > 0).map((c) => ({ class_id: c.class_id, char: c.char, precision: +c.precision.toFixed(3), recall: +c.recall.toFixed(3), f1: +c.f1.toFixed(3), support: c.support })));
report.sortValues('support', { ascending: false }).head(12).setIndex({ column: 'char', drop: true }).print();
console.log(fs.readFileSync(path.join(out, 'classification_report.txt'), 'utf8').split('\\n').slice(-6).join('\\n'));"""),
    ("code", """const { K49_CLASSES } = require('../pipeline/classes');
const chars = K49_CLASSES.map((c) => c.char);
const z = metrics.confusion.map((row) => { const t = row.reduce((a, b) => a + b, 0); return row.map((v) => (t ? v / t : null)); });
tslab.display.html(plotlyDiv('cm', { title: 'Confusion matrix, row-normalised', data: [{ type: 'heatmap', z, x: chars, y: chars, colorscale: 'Blues' }], layout: { height: 700, xaxis: { type: 'category' }, yaxis: { type: 'category', autorange: 'reversed' } } }));
tslab.display.png(fs.readFileSync(path.join(out, 'confusion_matrix.png')));"""),
    ("code", """const pairs = JSON.parse(fs.readFileSync(path.join(out, 'confused_pairs.json'), 'utf8'));
const top = pairs.slice(0, 10).map((p) => ({ true: p.true_char, predicted: p.predicted_char, count: p.count, share: +p.share_of_true.toFixed(3) }));
new dfd.DataFrame(top, { index: top.map((_, i) => `#${i + 1}`) }).print();
tslab.display.png(fs.readFileSync(path.join(out, 'misclassified.png')));"""),
])
print("notebooks written")
