/**
 * Characters cut from a real page scan as a user would cut them for POST /predict: a box with some paper
 * around it (pipeline/page/character-image.ts, with margins of each size), through the one preprocessing.
 * Used by scripts/page-crop-figures.ts (the committed crops' boxes) and scripts/real-page-anchors.ts (K49's
 * own boxes); the figures in docs/preprocessing.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PIXELS } from '../pipeline/core/dataset';
import { decodeRgba, type RgbaImage } from '../pipeline/core/preprocess/decode';
import { characterImage } from '../pipeline/page/character-image';

/** Margins around a box, as shares of its longer side on every side: none, the page reader's (0.06), up to a quarter. */
export const USER_MARGINS = [0, 0.06, 0.12, 0.18, 0.25];

/** Larger than any page scan's side: fullPage keeps the scan's own size. */
const NO_SHRINKING = 100_000;

/** A page scan at its full size, upright (EXIF orientation applied), as the service decodes an upload. */
function fullPage(file: string): Promise<RgbaImage> {
  return decodeRgba(readFileSync(file), { maxPixels: Number.MAX_SAFE_INTEGER }, NO_SHRINKING);
}

/**
 * Each box cut from its page scan (a file of `pagesDir`) with each of `margins` around it: a batch of K49
 * images per margin, in the order of `boxes`. Each scan is decoded once.
 */
export async function cutAsUser(
  boxes: readonly { page: string; box: readonly [number, number, number, number] }[],
  pagesDir: string,
  margins: readonly number[],
): Promise<Uint8Array[]> {
  const cuts = margins.map(() => new Uint8Array(boxes.length * PIXELS));
  for (const page of new Set(boxes.map((b) => b.page))) {
    const scan = await fullPage(path.join(pagesDir, page));
    for (const [i, b] of boxes.entries()) {
      if (b.page !== page) continue;
      for (const [j, m] of margins.entries()) cuts[j]!.set(characterImage(scan, b.box, m), i * PIXELS);
    }
  }
  return cuts;
}
