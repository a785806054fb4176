// %% [markdown]
// # K49: exploratory data analysis
//
// The same analysis as `make eda`, through `pipeline/eda/eda.ts`: the official label files
// (`../shared/data/k49`, distribution only), the 2,092 real sample images, and the synthetic set.

// %%
// The pipeline modules are TypeScript: register tsx first, then load them (one source of truth, no copies).
import 'tsx/cjs';
import * as dfd from 'danfojs-node';
import * as tslab from 'tslab';
import { plotlyDiv, plotlyScriptTag } from '../pipeline/report/plotly';

// Plotly is inlined once here (no CDN); later cells draw into it.
tslab.display.html(`${plotlyScriptTag()}<p>Plotly loaded.</p>`);

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { K49_CLASSES } from '../pipeline/core/classes';
// %%
import { runEda } from '../pipeline/eda/eda';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'k49-nb-eda-'));
const official = await runEda('../../shared/data/k49', path.join(out, 'k49'), () => {});
const [train, test] = [official.splits[0]!, official.splits[1]!];
const counts = new dfd.DataFrame(
  K49_CLASSES.map((c) => ({ class_id: c.index, char: c.char, train: train.class_counts[c.index], test: test.class_counts[c.index] })),
);
console.log(
  `train ${train.count} images, test ${test.count}; imbalance (max/min) train ${train.imbalance_ratio?.toFixed(1)}, test ${test.imbalance_ratio?.toFixed(1)}`,
);
console.log('classes with fewer than 1,000 training images:', official.rare_classes.map((r) => `${r.char} ${r.train_count}`).join(', '));
// Rows labelled by character (a bare row number would read like a class id).
counts.sortValues('train', { ascending: true, inplace: true });
counts.head(8).setIndex({ column: 'char', drop: true }).print();

// %%
const chars = K49_CLASSES.map((c) => c.char);
tslab.display.html(
  plotlyDiv('dist', {
    title: 'Class distribution (official labels)',
    data: [
      { type: 'bar', name: 'train', x: chars, y: train.class_counts },
      { type: 'bar', name: 'test', x: chars, y: test.class_counts },
    ],
    layout: { barmode: 'group', xaxis: { type: 'category' } },
  }),
);
tslab.display.png(fs.readFileSync(path.join(out, 'k49', 'class-distribution.png')));

// %% [markdown]
// ## The real sample: pixels, ink and shapes

// %%
const real = await runEda('../../shared/data/real-sample', path.join(out, 'real'), () => {});
const s = real.splits[0]!;
const images = s.images!;
console.log(
  `pixel mean ${images.pixel_mean.toFixed(2)}, std ${images.pixel_std.toFixed(2)} (0..255); mean ink coverage ${(100 * images.ink_coverage.mean).toFixed(1)} %; exact duplicates ${images.duplicates_within}`,
);
const perClass = new dfd.DataFrame(
  images.per_class
    .filter((c) => s.class_counts[c.class_id]! > 0)
    .map((c) => ({
      char: c.char,
      images: s.class_counts[c.class_id],
      ink_pct: +(100 * c.ink_mean).toFixed(1),
      bbox_w: +c.bbox_width_mean.toFixed(1),
      bbox_h: +c.bbox_height_mean.toFixed(1),
    })),
);
perClass.describe().print();
tslab.display.html(
  plotlyDiv('ink', {
    title: 'Ink coverage per image (real sample)',
    data: [{ type: 'bar', x: images.ink_coverage.histogram.map((_, i) => `${i * 3}-${i * 3 + 3} %`), y: images.ink_coverage.histogram }],
  }),
);

// %%
tslab.display.png(fs.readFileSync(path.join(out, 'real', 'test-samples.png')));

// %%
tslab.display.png(fs.readFileSync(path.join(out, 'real', 'test-class-means.png')));

// %% [markdown]
// ## The synthetic set (font renderings)
//
// A small set rendered here with `pipeline/synth` (the bundled model used 2,000 per class).

// %%
import { DEFAULT_SYNTH } from '../pipeline/synth/config';
import { generateSynthetic } from '../pipeline/synth/generate';

const synthDir = path.join(out, 'synth');
await generateSynthetic(synthDir, { ...DEFAULT_SYNTH, trainPerClass: 10, testPerClass: 4 }, () => {});
const synth = await runEda(synthDir, path.join(out, 'synth-eda'), () => {});
console.log(
  synth.splits
    .map((x) => `${x.split}: ${x.count} images, pixel mean ${x.images!.pixel_mean.toFixed(2)}, ink ${(100 * x.images!.ink_coverage.mean).toFixed(1)} %`)
    .join('\n'),
);
tslab.display.png(fs.readFileSync(path.join(out, 'synth-eda', 'train-samples.png')));
