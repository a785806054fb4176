// %% [markdown]
// # Evaluating the bundled model
//
// `pipeline/evaluate/evaluate.ts` on the real sample (2,092 real K49 test images, 41 classes) with the bundled
// default model (`artifacts/latest`: font renderings of all 49 classes plus real training images of ten,
// お き す つ な は ま や れ を; the figures per group below separate those ten from the other classes).

// %%
// The pipeline modules are TypeScript: register tsx first, then load them (one source of truth, no copies).
import 'tsx/cjs';
import * as dfd from 'danfojs-node';
import * as tslab from 'tslab';
import { confusionFigure, plotlyDiv, plotlyScriptTag } from '../pipeline/report/plotly';

// Plotly is inlined once here (no CDN); later cells draw into it.
tslab.display.html(`${plotlyScriptTag()}<p>Plotly loaded.</p>`);

import fs from 'node:fs';
// %%
import path from 'node:path';
import { evaluate } from '../pipeline/evaluate/evaluate';

// Scratch space inside the project (var/ is not tracked), named relative to this notebook so outputs hold no machine paths.
const out = path.join('..', 'var', 'notebooks', 'evaluate');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const { metrics } = await evaluate({ data: '../../shared/data/real-sample', model: '../artifacts/latest', out, log: (l) => console.log(l) });

// %%
const report = new dfd.DataFrame(
  metrics.per_class
    .filter((c) => c.support > 0)
    .map((c) => ({
      class_id: c.class_id,
      char: c.char,
      precision: +c.precision.toFixed(3),
      recall: +c.recall.toFixed(3),
      f1: +c.f1.toFixed(3),
      support: c.support,
    })),
);
report.sortValues('support', { ascending: false, inplace: true });
report.head(12).setIndex({ column: 'char', drop: true }).print();
console.log(fs.readFileSync(path.join(out, 'classification_report.txt'), 'utf8').split('\n').slice(-6).join('\n'));

// %%
import { K49_CLASSES } from '../pipeline/core/classes';

const chars = K49_CLASSES.map((c) => c.char);
tslab.display.html(plotlyDiv('cm', confusionFigure('Confusion matrix, row-normalised (hover for counts)', metrics.confusion, chars)));
tslab.display.png(fs.readFileSync(path.join(out, 'confusion_matrix.png')));

// %%
import { mostConfused } from '../pipeline/core/metrics';

// The pairs of confused_pairs.json, recounted from the metrics.
const pairs = mostConfused(metrics);
const top = pairs.slice(0, 10).map((p) => ({ true: p.true_char, predicted: p.predicted_char, count: p.count, share: +p.share_of_true.toFixed(3) }));
new dfd.DataFrame(top, { index: top.map((_, i) => `#${i + 1}`) }).print();
tslab.display.png(fs.readFileSync(path.join(out, 'misclassified.png')));
