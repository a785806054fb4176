/**
 * RGBA pixels -> the K49 28x28 image: colour and polarity, then the paper
 * cleaned away (clean-page.ts) and the ink fitted (fit.ts); and the blank-image
 * rule. Browser-safe (no Node imports): the server's decodeForModel and the
 * web page's in-browser recognition run these same lines.
 */
import { cleanPage, selectInPlace } from './clean-page';
import { fitToK49, PREPROCESS } from './fit';

/** Work size for large inputs (decode.ts shrinks a larger image to it first): glyph detail above this is lost at 28 px anyway. */
export const WORK_MAX_SIDE = 512;

/** The one blank-image rule (decodeForModel: API, worker, corrections; and the page): a preprocessed image with no ink cannot be classified. */
export const BLANK_IMAGE_MESSAGE = 'the image is blank: no ink was found';
export function isBlank(image: Uint8Array): boolean {
  return image.every((v) => v === 0);
}

/** A level this far from mid-grey tells the polarity by itself: black for K49 images, white for most scans. */
const CLEAR_LEVEL = 64;

/**
 * Whether the ink is darker than the background (paper) or lighter (a K49 image, chalk on a board).
 * A white border, or a black one around a K49-sized image, decides alone (the common cases, cheaply).
 * Otherwise the background is the lighter of the border's median and the image's: in a tight crop dark
 * strokes can cover most of the border, rarely most of the area. A clearly dark or light one decides; a grey one
 * (old paper, a dim photograph) has its ink on the side where the image reaches clearly further: dark
 * ink stands far below the paper, the paper's brightest grain only a little above it.
 */
function isLightBackground(border: number, rgba: Uint8Array, n: number, k49Sized: boolean): boolean {
  if (border > 255 - CLEAR_LEVEL) return true;
  if (border < CLEAR_LEVEL && k49Sized) return false;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = lumaAt(rgba, i);
  const background = Math.max(border, selectInPlace(values, 0.5));
  if (background < CLEAR_LEVEL) return false;
  if (background > 255 - CLEAR_LEVEL) return true;
  const below = background - selectInPlace(values, 0.02);
  const above = selectInPlace(values, 0.98) - background;
  if (below > 2 * above) return true;
  if (above > 2 * below) return false;
  // No side stands out (empty paper, grain only): the paper's own brightness decides.
  return background > 127;
}

/**
 * Pixel i's luma, at float32 precision. A module-level function rather than a closure per image: tsx (which runs
 * the service) wraps every closure it makes to keep its name, a cost per call that a 28x28 image notices.
 */
function lumaAt(rgba: Uint8Array, i: number): number {
  return Math.fround(0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!);
}

/** RGBA pixels -> K49 28x28 (the colour and polarity part of the preprocessing, then cleanPage and fitToK49). */
export function rgbaToK49(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  let minAlpha = 255;
  for (let i = 3; i < 4 * n; i += 4) if (rgba[i]! < minAlpha) minAlpha = rgba[i]!;
  if (minAlpha < 250) {
    // Transparency carries the drawing: ink = alpha-weighted contrast to the
    // opaque colour, so dark strokes on a transparent canvas count as ink.
    const ink = new Float32Array(n);
    for (let i = 0; i < n; i++) ink[i] = rgba[i * 4 + 3]!;
    return fitToK49({ width, height, data: ink });
  }
  // Luma is computed where it is used: an array for it would cost more than the arithmetic.
  // The border's median, by selection: cheaper than sorting a typed array, which dominated a 28x28 image's cost.
  const border = new Float32Array(2 * (width + height));
  for (let x = 0; x < width; x++) {
    border[2 * x] = lumaAt(rgba, x);
    border[2 * x + 1] = lumaAt(rgba, (height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    border[2 * width + 2 * y] = lumaAt(rgba, y * width);
    border[2 * width + 2 * y + 1] = lumaAt(rgba, y * width + width - 1);
  }
  const k49Sized = width === PREPROCESS.size && height === PREPROCESS.size;
  const lightBackground = isLightBackground(selectInPlace(border, 0.5), rgba, n, k49Sized);
  if (k49Sized && !lightBackground) {
    // Already a K49 image: keep it exactly.
    const image = new Uint8Array(n);
    for (let i = 0; i < n; i++) image[i] = Math.round(lumaAt(rgba, i));
    return image;
  }
  const ink = new Float32Array(n);
  for (let i = 0; i < n; i++) ink[i] = lightBackground ? 255 - lumaAt(rgba, i) : lumaAt(rgba, i);
  return fitToK49({ width, height, data: cleanPage(ink, width, height) });
}
