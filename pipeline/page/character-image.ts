/** One character of a page as the model sees it: its box cropped with a margin, through the one preprocessing. */
import { rgbaToK49 } from '../core/preprocess';
import type { PagePixels } from './ink';

/** Margin around each character's box when it is cropped, as a share of the box's longer side (as the real crops users make). */
const CROP_MARGIN = 0.06;

/**
 * The K49 image (784 bytes) of the box [x, y, w, h] of `page`, cropped with `margin` (CROP_MARGIN unless told;
 * the scripts measure others) as a user would crop it.
 */
export function characterImage(page: PagePixels, box: readonly [number, number, number, number], margin = CROP_MARGIN): Uint8Array {
  const [x, y, w, h] = box;
  const m = Math.round(margin * Math.max(w, h));
  const x0 = Math.max(0, x - m),
    y0 = Math.max(0, y - m);
  const x1 = Math.min(page.width, x + w + m),
    y1 = Math.min(page.height, y + h + m);
  const crop = new Uint8Array((x1 - x0) * (y1 - y0) * 4);
  for (let row = y0; row < y1; row++) crop.set(page.data.subarray(4 * (row * page.width + x0), 4 * (row * page.width + x1)), 4 * (row - y0) * (x1 - x0));
  return rgbaToK49(crop, x1 - x0, y1 - y0);
}
