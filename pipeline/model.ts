/**
 * CNN architectures for 28x28 K49 images.
 *
 * `k49net` (default): a VGG-style network with batch normalisation: three
 * stages of 3x3 convolutions (32, 64, 128 channels; 28 -> 14 -> 7 -> 3, one
 * convolution per stage by default, configurable), the 3x3x128 map flattened
 * into a dense head of 256 units with dropout. Why: on this 2-core CPU the native
 * TensorFlow build runs ~10-35 GFLOP/s, so the default is sized by measurement
 * (see MODEL_CARD.md): single-image inference through the BN-folded fused path
 * (pipeline/inference.ts) at ~2 ms and ~340 training img/s, while BN,
 * augmentation, label smoothing and class-balanced sampling carry accuracy.
 * Flattening (rather than global average pooling) keeps where each stroke is:
 * the last convolutions see only part of the 28 px glyph, so averaging over
 * positions would reduce the character to a bag of stroke pieces (measured:
 * see the bundled model's card). Two convolutions per stage (the bundled
 * synthetic-data model, configs/default-synth.json) cost about 2x in training
 * and inference and generalised better from font renderings to real scans;
 * the default stays at one so that a small real run fits its time budget.
 * Wider/deeper settings (configs/k49-full.json) are for full-data training
 * on faster hardware.
 *
 * `baseline`: the replaced system's recipe (2 conv layers + FC128), kept so
 * the comparison the training issue asks for can be rerun on any data.
 */
import type { Tf } from './backend';
import { IMAGE_SIZE } from './dataset';
import { NUM_CLASSES } from './classes';

export type Architecture = 'k49net' | 'baseline';

export interface ModelConfig {
  architecture: Architecture;
  /** Channels of the three convolution stages (k49net). */
  widths: [number, number, number];
  /** 3x3 convolutions in each stage (k49net). */
  convsPerStage: [number, number, number];
  /** How the last feature map meets the dense head: 'flatten' keeps the layout of the 3x3 map, 'gap' averages it. */
  head: 'flatten' | 'gap';
  denseUnits: number;
  dropout: number;
  l2: number;
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
  model.add(cfg.head === 'gap' ? tf.layers.globalAveragePooling2d({}) : tf.layers.flatten());
  model.add(tf.layers.dense({ units: cfg.denseUnits, useBias: false, kernelInitializer: init(), kernelRegularizer: reg }));
  model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
  model.add(tf.layers.reLU());
  if (cfg.dropout > 0) model.add(tf.layers.dropout({ rate: cfg.dropout, seed: s++ }));
  model.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }) }));
  return model;
}
