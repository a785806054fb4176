/**
 * A K49-format directory: `k49-{train,test}-{imgs,labels}.npz` as published
 * (images: uint8 (N, 28, 28) white ink on black; labels: uint8 (N,) class ids).
 * Any directory in this layout works: the official files, the synthetic set,
 * the real sample, or a subset holding only some classes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NUM_CLASSES } from './classes';
import { type NdArray, NpzFormatError, readNpzArray, writeNpz } from './npz';
import { IMAGE_SIZE, PIXELS } from './preprocess/fit';

export { IMAGE_SIZE, PIXELS };
export type Split = 'train' | 'test';

export interface LabelledImages {
  /** N * 28 * 28 bytes, row-major, image after image. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export const splitFiles = (split: Split) => ({
  images: `k49-${split}-imgs.npz`,
  labels: `k49-${split}-labels.npz`,
});

export function hasSplit(dir: string, split: Split, what: 'images' | 'labels' | 'both' = 'both'): boolean {
  const files = splitFiles(split);
  const need = what === 'both' ? [files.images, files.labels] : [files[what]];
  return need.every((f) => existsSync(path.join(dir, f)));
}

function expectUint8(file: string, array: NdArray, shape: (number | null)[]): Uint8Array {
  if (array.dtype !== 'u1') {
    throw new NpzFormatError(file, `expected dtype uint8, found '${array.dtype}'`);
  }
  const ok = array.shape.length === shape.length && shape.every((d, i) => d === null || array.shape[i] === d);
  if (!ok) {
    const want = shape.map((d) => (d === null ? 'N' : String(d))).join(', ');
    throw new NpzFormatError(file, `expected shape (${want}), found (${array.shape.join(', ')})`);
  }
  return array.data as Uint8Array;
}

export async function loadLabels(dir: string, split: Split): Promise<Uint8Array> {
  const file = path.join(dir, splitFiles(split).labels);
  const labels = expectUint8(file, await readNpzArray(file), [null]);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= NUM_CLASSES) {
      throw new NpzFormatError(file, `label ${labels[i]} at index ${i} is outside the 49 K49 classes (0..48)`);
    }
  }
  return labels;
}

export async function loadImages(dir: string, split: Split): Promise<Uint8Array> {
  const file = path.join(dir, splitFiles(split).images);
  return expectUint8(file, await readNpzArray(file), [null, IMAGE_SIZE, IMAGE_SIZE]);
}

/** Loads and cross-checks one split: images and labels must agree in count. */
export async function loadSplit(dir: string, split: Split): Promise<LabelledImages> {
  const labels = await loadLabels(dir, split);
  const images = await loadImages(dir, split);
  const count = images.length / PIXELS;
  if (count !== labels.length) {
    const files = splitFiles(split);
    throw new NpzFormatError(
      path.join(dir, files.images),
      `holds ${count} images but ${files.labels} holds ${labels.length} labels; the two files do not belong together`,
    );
  }
  return { images, labels, count };
}

export async function saveSplit(dir: string, split: Split, data: LabelledImages): Promise<void> {
  const files = splitFiles(split);
  await writeNpz(path.join(dir, files.images), { arr_0: { data: data.images, shape: [data.count, IMAGE_SIZE, IMAGE_SIZE] } });
  await writeNpz(path.join(dir, files.labels), { arr_0: { data: data.labels, shape: [data.count] } });
}

/** Images per class id (length 49). */
export function classCounts(labels: Uint8Array): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const l of labels) counts[l]!++;
  return counts;
}

/** The images (N*784 bytes) moved by (dx, dy) pixels, what moves out dropped and zeros (no ink) moved in. */
export function shiftImages(images: Uint8Array, dx: number, dy: number): Uint8Array {
  if (dx === 0 && dy === 0) return images;
  const out = new Uint8Array(images.length);
  for (let base = 0; base < images.length; base += PIXELS) {
    for (let y = Math.max(0, dy); y < Math.min(IMAGE_SIZE, IMAGE_SIZE + dy); y++) {
      for (let x = Math.max(0, dx); x < Math.min(IMAGE_SIZE, IMAGE_SIZE + dx); x++) {
        out[base + y * IMAGE_SIZE + x] = images[base + (y - dy) * IMAGE_SIZE + (x - dx)]!;
      }
    }
  }
  return out;
}
