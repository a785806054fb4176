/**
 * CNN architectures for 28x28 K49 images, and how each is described in the
 * model card. Adding an architecture: its name in ModelConfigSchema
 * (train/config.ts), its layers in buildModel, its sentence in
 * describeArchitecture.
 *
 * `k49net` (default): a VGG-style network with batch normalisation: three
 * stages of 3x3 convolutions (28 -> 14 -> 7 -> 3; widths and convolutions
 * per stage configurable), the last map flattened into a dense head with
 * dropout. Flattening (rather than global average pooling) keeps where each
 * stroke is: the last convolutions see only part of the glyph, so averaging
 * over positions reduces the character to a bag of stroke pieces. The
 * default is sized for CPU training and single-image latency here; the
 * measured trade-offs are in the bundled model's card.
 *
 * `baseline`: the replaced system's recipe (2 conv layers + FC128), kept so
 * the comparison with it can be rerun on any data.
 */
import type { Tf } from '../core/backend';
import { NUM_CLASSES } from '../core/classes';
import { IMAGE_SIZE } from '../core/dataset';
import type { ModelConfig } from './config';

/** One sentence for the model card: the layers `buildModel` makes from `cfg`. */
export function describeArchitecture(m: ModelConfig): string {
  if (m.architecture === 'baseline') {
    return 'baseline: conv 3x3x32 + ReLU, max-pool, conv 3x3x64 + ReLU, max-pool, dense 128 + ReLU, dense 49 softmax (the replaced system).';
  }
  return `k49net: ${m.widths.map((w, i) => `${m.convsPerStage[i]}x (conv 3x3x${w} + BN + ReLU) + max-pool`).join(', ')}, flatten, dense ${m.denseUnits} + BN + ReLU + dropout ${m.dropout}, dense 49 softmax; L2 ${m.l2}.`;
}

export function buildModel(tf: Tf, cfg: ModelConfig, seed: number) {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const reg = cfg.l2 > 0 ? tf.regularizers.l2({ l2: cfg.l2 }) : undefined;
  const model = tf.sequential({ name: cfg.architecture });
  const input = [IMAGE_SIZE, IMAGE_SIZE, 1];

  if (cfg.architecture === 'baseline') {
    model.add(tf.layers.conv2d({ inputShape: input, filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init() }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init() }));
    model.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: init() }));
    return model;
  }

  const convBnRelu = (filters: number, first = false) => {
    model.add(
      tf.layers.conv2d({
        ...(first ? { inputShape: input } : {}),
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
        kernelRegularizer: reg,
      }),
    );
    model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
    model.add(tf.layers.reLU());
  };
  cfg.widths.forEach((w, stage) => {
    for (let i = 0; i < cfg.convsPerStage[stage]!; i++) convBnRelu(w, stage === 0 && i === 0);
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    if (stage > 0 && cfg.dropout > 0) model.add(tf.layers.dropout({ rate: cfg.dropout / 2, seed: s++ }));
  });
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: cfg.denseUnits, useBias: false, kernelInitializer: init(), kernelRegularizer: reg }));
  model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
  model.add(tf.layers.reLU());
  if (cfg.dropout > 0) model.add(tf.layers.dropout({ rate: cfg.dropout, seed: s++ }));
  model.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }) }));
  return model;
}
