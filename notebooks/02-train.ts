// %% [markdown]
// # Training a small model
//
// `pipeline/train/loop.ts` with a small configuration on a small synthetic set, to show the loop,
// its records and curves. The real recipe is `DEFAULT_TRAIN` (`make train`).

// %%
// The pipeline modules are TypeScript: register tsx first, then load them (one source of truth, no copies).
import 'tsx/cjs';
import * as dfd from 'danfojs-node';
import * as tslab from 'tslab';
import { plotlyDiv, plotlyScriptTag } from '../pipeline/report/plotly';

// Plotly is inlined once here (no CDN); later cells draw into it.
tslab.display.html(`${plotlyScriptTag()}<p>Plotly loaded.</p>`);

import fs from 'node:fs';
// %%
import path from 'node:path';
import { DEFAULT_SYNTH } from '../pipeline/synth/config';
import { generateSynthetic } from '../pipeline/synth/generate';
import { DEFAULT_TRAIN, mergeTrainConfig } from '../pipeline/train/config';
import { train } from '../pipeline/train/loop';

// Scratch space inside the project (var/ is not tracked), named relative to this notebook so outputs hold no machine paths.
const dir = path.join('..', 'var', 'notebooks', 'train');
fs.rmSync(dir, { recursive: true, force: true });
await generateSynthetic(path.join(dir, 'data'), { ...DEFAULT_SYNTH, trainPerClass: 30, testPerClass: 6 }, () => {});
const trainConfig = mergeTrainConfig(DEFAULT_TRAIN, { epochs: 4, batchSize: 64, model: { widths: [16, 32, 64], denseUnits: 128 } });
console.log(JSON.stringify(trainConfig.model));

// %%
const result = await train({ data: path.join(dir, 'data'), out: path.join(dir, 'artifact'), config: trainConfig, progress: false, log: (l) => console.log(l) });

// %%
import { linePng } from '../pipeline/report/images';

const h = result.history;
new dfd.DataFrame(
  h.map((r) => ({
    epoch: r.epoch,
    lr: +r.learning_rate.toExponential(2),
    loss: +r.loss.toFixed(4),
    acc: +r.accuracy.toFixed(4),
    val_balanced: +r.val_balanced_accuracy.toFixed(4),
    img_s: Math.round(r.images_per_second),
  })),
)
  .setIndex({ column: 'epoch', drop: true })
  .print();
const epochs = h.map((r) => r.epoch);
tslab.display.html(
  plotlyDiv('curves', {
    title: 'Training curves',
    data: [
      { type: 'scatter', name: 'loss', x: epochs, y: h.map((r) => r.loss) },
      { type: 'scatter', name: 'train accuracy', x: epochs, y: h.map((r) => r.accuracy), yaxis: 'y2' },
      { type: 'scatter', name: 'validation balanced accuracy', x: epochs, y: h.map((r) => r.val_balanced_accuracy), yaxis: 'y2' },
    ],
    layout: { yaxis: { title: { text: 'loss' } }, yaxis2: { title: { text: 'accuracy' }, overlaying: 'y', side: 'right', range: [0, 1] } },
  }),
);
tslab.display.png(
  linePng('loss (red), train accuracy (blue), validation balanced accuracy (green)', epochs, [
    { name: 'loss', ys: h.map((r) => r.loss), colour: '#b5452b' },
    { name: 'train acc', ys: h.map((r) => r.accuracy), colour: '#2f6db5' },
    { name: 'val balanced', ys: h.map((r) => r.val_balanced_accuracy), colour: '#2f7d4f' },
  ]),
);
