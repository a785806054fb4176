/**
 * Which images training sees: the stratified validation split, each epoch's
 * class-balanced draw over all sources, the optional subset cap, and the
 * model-ready batches gathered from the chosen indices.
 */
import { NUM_CLASSES } from '../core/classes';
import { classCounts, PIXELS } from '../core/dataset';
import { toModelInput } from '../core/preprocess/fit';
import type { Random } from '../core/random';
import type { MixedSplit } from '../data/sources';

/** Stratified split: the same fraction of every class goes to validation. */
export function stratifiedSplit(labels: Uint8Array, fraction: number, rng: Random) {
  const byClass: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  labels.forEach((l, i) => {
    byClass[l]!.push(i);
  });
  const train: number[] = [],
    val: number[] = [];
  for (const idx of byClass) {
    rng.shuffle(idx);
    const nVal = idx.length >= 2 ? Math.max(1, Math.round(idx.length * fraction)) : 0;
    val.push(...idx.slice(0, nVal));
    train.push(...idx.slice(nVal));
  }
  return { train, val };
}

/**
 * An epoch's worth of indices, drawn with class-balanced weights over all
 * sources together (n_class^-exponent), each image's also multiplied by its
 * source's weight.
 */
export function sampleEpoch(train: number[], labels: Uint8Array, exponent: number, rng: Random, sourceWeight: (i: number) => number = () => 1): number[] {
  const uniform = train.every((i) => sourceWeight(i) === sourceWeight(train[0]!));
  if (exponent === 0 && uniform) return rng.shuffle([...train]);
  const counts = classCounts(Uint8Array.from(train, (i) => labels[i]!));
  const cumulative = new Float64Array(train.length);
  let total = 0;
  train.forEach((i, k) => {
    total += sourceWeight(i) * counts[labels[i]!]! ** -exponent;
    cumulative[k] = total;
  });
  return train.map(() => {
    const u = rng.float() * total;
    let lo = 0,
      hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return train[lo]!;
  });
}

/** The images at `indices` (in that order), with their labels and sources: a subset cap, or the validation set. */
export function pick(data: MixedSplit, indices: number[]): MixedSplit {
  const out: MixedSplit = {
    images: new Uint8Array(indices.length * PIXELS),
    labels: new Uint8Array(indices.length),
    source: new Uint8Array(indices.length),
    count: indices.length,
    sources: data.sources,
  };
  indices.forEach((i, k) => {
    out.images.set(data.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    out.labels[k] = data.labels[i]!;
    out.source[k] = data.source[i]!;
  });
  return out;
}

/** A training batch: model inputs and labels of the images at `indices`. */
export function gatherBatch(data: MixedSplit, indices: number[]): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(indices.length * PIXELS);
  const y = new Int32Array(indices.length);
  indices.forEach((i, k) => {
    x.set(toModelInput(data.images.subarray(i * PIXELS, (i + 1) * PIXELS)), k * PIXELS);
    y[k] = data.labels[i]!;
  });
  return { x, y };
}

/** Per source of `data`, a 0/1 row over the classes it holds: the candidates of the source-class loss (train/step.ts). */
export function sourceClassRows(data: MixedSplit): Float32Array[] {
  return data.sources.map((s) => Float32Array.from(s.class_counts, (n) => (n > 0 ? 1 : 0)));
}

/** Per image of `indices`, its source's row of `rows` (sourceClassRows, made once per run rather than per batch). */
export function sourceCandidates(data: MixedSplit, indices: number[], rows = sourceClassRows(data)): Float32Array {
  const out = new Float32Array(indices.length * NUM_CLASSES);
  indices.forEach((i, k) => {
    out.set(rows[data.source[i]!]!, k * NUM_CLASSES);
  });
  return out;
}
