/** Test images: real K49 samples encoded as files, and variants of one glyph. */
import sharp from 'sharp';
import { k49Png, realSample } from '../../bench/harness';
import { loadSplit, PIXELS } from '../../pipeline/core/dataset';
import { KMNIST_REAL_DIR } from '../../pipeline/core/paths';

export { realSample, realSamplePng } from '../../bench/harness';

let kmnistTrain: ReturnType<typeof loadSplit> | null = null;
/** A real K49 training image (kmnist-real's training split, not a test image) as a 28x28 PNG, and its class. */
export async function kmnistTrainPng(index: number): Promise<{ png: Buffer; classId: number }> {
  const split = await (kmnistTrain ??= loadSplit(KMNIST_REAL_DIR, 'train'));
  return { png: await k49Png(split.images, index), classId: split.labels[index]! };
}

/** The same glyph three ways: 300x300 black-on-white JPEG, white-on-black PNG, transparent PNG. */
export async function glyphVariants(index: number) {
  const s = await realSample();
  const img = Buffer.from(s.images.subarray(index * PIXELS, (index + 1) * PIXELS));
  const big = await sharp(img, { raw: { width: 28, height: 28, channels: 1 } })
    .resize(300, 300, { kernel: 'cubic' })
    .greyscale()
    .raw()
    .toBuffer();
  const raw = { raw: { width: 300, height: 300, channels: 1 as const } };
  const whiteOnBlackPng = await sharp(big, raw).png().toBuffer();
  const blackOnWhiteJpeg = await sharp(Buffer.from(Uint8Array.from(big, (v: number) => 255 - v)), raw)
    .jpeg({ quality: 92 })
    .toBuffer();
  const rgba = Buffer.alloc(300 * 300 * 4);
  for (let i = 0; i < 300 * 300; i++) rgba[i * 4 + 3] = big[i]!; // black ink, alpha = stroke
  const transparentPng = await sharp(rgba, { raw: { width: 300, height: 300, channels: 4 } })
    .png()
    .toBuffer();
  return { whiteOnBlackPng, blackOnWhiteJpeg, transparentPng };
}
