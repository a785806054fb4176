/**
 * Where given K49 images lie on a page. K49 cut its images from page scans such as these, so a crop of ours
 * may hold a test image's character with a little more or less around it (a neighbour's stroke, a cut a
 * few pixels off): the same ink, yet under the leak check's correlation with the test image. Found here
 * without the cutters' choices: every column's ink in dense row windows (a start every eighth of a
 * character height, 0.4 to 1.6 heights tall), each cropped as the reader crops and compared with the
 * images; the best window of an image matching it at `min` or more marks where it lies. Used by the leak
 * check of page crops (crops.ts: a crop covering much of a located test image is dropped) and by
 * scripts/real-page-anchors.ts (K49's own boxes on real pages).
 */
import { PIXELS } from '../core/dataset';
import { type BestMatch, bestMatches } from '../data/leak';
import { characterImage } from './character-image';
import { findColumns, inkBoxes, pageInk, toPageBox } from './cut';
import type { DecodedPage } from './read';
import { overlapArea } from './score';

type Box = [number, number, number, number];

/** Dense windows start every this share of the character height, and are these shares tall. */
const WINDOW_STEP = 1 / 8;
const WINDOW_HEIGHTS = Array.from({ length: 9 }, (_, k) => 0.4 + 0.15 * k);
/** Only a window whose unshifted best match reaches this is compared again with shifts (a ninth of the work for the rest). */
const NEAR = 0.7;

/** A reference image found on the page: its index, the box of the window that matched it best (pixels of the scan as sent), and how well. */
export interface Located {
  index: number;
  box: Box;
  correlation: number;
}

/** Every distinct box of a column's ink in dense row windows, in the decoded page's pixels. */
function denseWindows(page: DecodedPage): Box[] {
  const cols = findColumns(pageInk(page));
  const height = cols.height;
  const windows = new Map<string, Box>();
  cols.profiles.forEach((rows, k) => {
    let first = 0,
      last = rows.length - 1;
    while (first < rows.length && rows[first] === 0) first++;
    while (last > 0 && rows[last] === 0) last--;
    const ranges: [number, number][] = [];
    for (let y = Math.max(0, first - 0.2 * height); y < last; y += Math.max(1, WINDOW_STEP * height)) {
      for (const share of WINDOW_HEIGHTS) ranges.push([Math.round(y), Math.min(rows.length, Math.round(y + share * height))]);
    }
    for (const box of inkBoxes(cols, k, ranges)) {
      if (!box) continue;
      const pageBox = toPageBox(box, cols.scale);
      windows.set(pageBox.join(','), pageBox);
    }
  });
  return [...windows.values()];
}

/**
 * The images of `reference` (N*784 bytes) found on a decoded page at correlation `min` or more (moved by up
 * to a pixel), each with its best window. The page is searched as it lies: scans square to within the
 * cutter's tolerance (a page the reader turns upright first is not).
 */
export function locateOnPage(page: DecodedPage, reference: Uint8Array, min: number): Located[] {
  const windows = denseWindows(page);
  if (windows.length === 0) return [];
  // Cropped at the page's own size, exactly as the crops of `k49 crops` are: from a shrunk copy (characters
  // 56 or 84 px tall, about half the time) some test images were not found whose full-size windows match them at 0.9.
  const crops = new Uint8Array(windows.length * PIXELS);
  windows.forEach((box, k) => {
    crops.set(characterImage(page, box), k * PIXELS);
  });
  const near = bestMatches(crops, reference, 2048, [0]).flatMap((m, i) => (m.correlation >= NEAR ? [i] : []));
  const picked = new Uint8Array(near.length * PIXELS);
  near.forEach((i, k) => {
    picked.set(crops.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
  });
  const best = new Map<number, { window: number; match: BestMatch }>();
  if (near.length) {
    bestMatches(picked, reference).forEach((match, k) => {
      if (match.correlation < min || (best.get(match.index)?.match.correlation ?? -1) >= match.correlation) return;
      best.set(match.index, { window: near[k]!, match });
    });
  }
  // Windows are in the decoded page's pixels; the answer is in the scan's, as the cutters' boxes are.
  const sx = page.sourceWidth / page.width,
    sy = page.sourceHeight / page.height;
  return [...best.entries()].map(([index, { window, match }]) => {
    const [x, y, w, h] = windows[window]!;
    return { index, box: [Math.round(x * sx), Math.round(y * sy), Math.round(w * sx), Math.round(h * sy)], correlation: match.correlation };
  });
}

/**
 * A page crop covering this share of a located test image's box holds much of that character's ink: the
 * leak check drops it (crops found to hold a test image's character this way covered 0.43 to all of its box,
 * at correlations with it of 0.40 to 0.85; 2026-12-07, book 200010454).
 */
export const LEAK_COVER = 0.4;

/** The largest share of a located test image's box that `box` covers (0 where none was found). */
export function testCover(box: Readonly<Box>, located: readonly Located[]): number {
  return Math.max(0, ...located.map((t) => coveredShare(box, t.box)));
}

/** The share of box `b` that box `a` covers (boxes [x, y, w, h]). */
function coveredShare(a: Readonly<Box>, b: Readonly<Box>): number {
  return overlapArea(a, b) / Math.max(1, b[2] * b[3]);
}
