/**
 * Every knob of the synthetic data stage, as one zod schema: the defaults and
 * CONFIG= files merged over them. The data set keeps the full config in
 * `synth.json`.
 */
import { z } from 'zod';
import { loadConfigFile } from '../core/config';

const range = z.tuple([z.number(), z.number()]);
const probability = z.number().min(0).max(1);

const RenderParamsSchema = z.strictObject({
  /** Working canvas side (px) before fitting to 28x28. */
  workSize: z.number().int().min(28),
  rotationStdDeg: z.number().min(0),
  shearMax: z.number().min(0),
  aspectJitter: z.number().min(0),
  /** Target stroke width in the final 28x28 image: mean, std, min, max (px). */
  strokeWidth: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  elasticSigma: range,
  blurProb: probability,
  blurSigma: range,
  gamma: range,
  noiseProb: probability,
  noiseStd: range,
  neighbourProb: probability,
  neighbourRows: range,
  eraseProb: probability,
});
export type RenderParams = z.infer<typeof RenderParamsSchema>;

export const DEFAULT_RENDER: RenderParams = {
  workSize: 64,
  rotationStdDeg: 5,
  shearMax: 0.25,
  aspectJitter: 0.15,
  strokeWidth: [2.9, 0.6, 1.6, 4.6],
  elasticSigma: [0.5, 3],
  blurProb: 0.6,
  blurSigma: [0.3, 0.9],
  gamma: [0.7, 1.4],
  noiseProb: 0.3,
  noiseStd: [2, 8],
  neighbourProb: 0.35,
  neighbourRows: [2, 6],
  eraseProb: 0.15,
};

const SynthConfigSchema = z.strictObject({
  seed: z.number().int(),
  /** Which font sets to render from: Debian packages, and the npm brush/hentaigana designs (pipeline/synth/fonts.ts). */
  fontSets: z.array(z.enum(['debian', 'npm'])).min(1),
  trainPerClass: z.number().int().min(0),
  testPerClass: z.number().int().min(0),
  /** Share of a class's samples drawn from hentaigana forms when the class has any. */
  hentaiganaShare: probability,
  render: RenderParamsSchema,
});
export type SynthConfig = z.infer<typeof SynthConfigSchema>;

/**
 * The base every CONFIG= file is merged over, and `make synth` without one: Debian's fonts only.
 * The bundled model's two synthetic sets add the npm font designs: configs/synth-npm-fonts.json
 * (4,000 images per class for the starting model, the default 2,000 for the fine-tuning).
 */
export const DEFAULT_SYNTH: SynthConfig = {
  seed: 49,
  // Debian's fonts only: the bundled model's data set (`make synth`) stays reproducible; configs/synth-npm-fonts.json adds the npm set.
  fontSets: ['debian'],
  trainPerClass: 2000,
  testPerClass: 200,
  hentaiganaShare: 0.5,
  render: DEFAULT_RENDER,
};

/** The defaults with CONFIG=file's keys merged over them. */
export function loadSynthConfig(file: string | undefined): SynthConfig {
  return loadConfigFile(SynthConfigSchema, structuredClone(DEFAULT_SYNTH), file, 'synthesis config');
}
