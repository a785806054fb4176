/**
 * Training checkpoints: `checkpoints/last` after every epoch (what `--resume`
 * continues from: model, optimizer moments, weight average and the run's
 * state) and `checkpoints/best` (the validated weights of the best epoch,
 * which become the artifact's model).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { readJson, writeJson } from '../core/artifacts';
import type { Tf } from '../core/backend';
import { readNpz, writeNpz } from '../core/npz';
import type { EpochRecord } from '../core/records';
import type { WeightAverage } from './ema';

/** Where a run stands after its last completed epoch. */
export interface TrainState {
  epoch: number;
  bestEpoch: number;
  bestScore: number;
  history: EpochRecord[];
  trainSeconds: number;
}

export const FRESH_STATE: TrainState = { epoch: 0, bestEpoch: 0, bestScore: -1, history: [], trainSeconds: 0 };

/** Where a checkpoint keeps the weight average (a model of its own). */
const AVERAGED_SUBDIR = 'averaged';

export const checkpointDir = (artifactDir: string, which: 'last' | 'best') => path.join(artifactDir, 'checkpoints', which);

/** Writes a checkpoint atomically (to a temporary folder, then renamed over the old one). */
export async function saveCheckpoint(dir: string, model: TF.LayersModel, optimizer: TF.Optimizer, state: TrainState, average?: WeightAverage): Promise<void> {
  const tmp = `${dir}.tmp`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await model.save(`file://${tmp}`);
  if (average) await average.withAveraged(() => model.save(`file://${path.join(tmp, AVERAGED_SUBDIR)}`));
  const weights = await optimizer.getWeights();
  const arrays: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [k, w] of weights.entries()) arrays[`${k}`] = { data: w.tensor.dataSync() as Float32Array, shape: w.tensor.shape };
  await writeNpz(path.join(tmp, 'optimizer.npz'), arrays);
  await writeJson(
    path.join(tmp, 'optimizer-names.json'),
    weights.map((w) => w.name),
  );
  await writeJson(path.join(tmp, 'state.json'), state);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(tmp, dir);
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(path.join(dir, 'state.json'));
}

export function readState(dir: string): TrainState {
  return readJson<TrainState>(path.join(dir, 'state.json'));
}

export function loadCheckpointModel(tf: Tf, dir: string): Promise<TF.LayersModel> {
  return tf.loadLayersModel(`file://${path.join(dir, 'model.json')}`);
}

/** Puts the saved Adam moments back into `optimizer` (matched to the model's trainable weights by order, as Adam keeps them). */
export async function restoreOptimizer(tf: Tf, dir: string, optimizer: TF.Optimizer): Promise<void> {
  const names = readJson<string[]>(path.join(dir, 'optimizer-names.json'));
  const arrays = await readNpz(path.join(dir, 'optimizer.npz'));
  await optimizer.setWeights(
    names.map((name, k) => {
      const saved = arrays.get(String(k))!;
      return { name, tensor: tf.tensor(saved.data as Float32Array, saved.shape) };
    }),
  );
}

/** The weight average a checkpoint kept, to continue averaging from. */
export async function loadAveragedWeights(tf: Tf, dir: string): Promise<TF.Tensor[]> {
  const saved = await tf.loadLayersModel(`file://${path.join(dir, AVERAGED_SUBDIR, 'model.json')}`);
  const weights = saved.getWeights().map((w) => w.clone());
  saved.dispose();
  return weights;
}
