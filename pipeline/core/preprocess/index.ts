/**
 * The one image preprocessing of the system: anything becomes a K49-style
 * 28x28 image (white ink on black, cropped to the ink, longer side scaled to
 * 28 keeping the aspect ratio, centred). Three parts, one file each:
 * decode.ts (bytes -> RGBA pixels), clean-page.ts (a crop of a page -> ink on
 * black) and fit.ts (ink -> 28x28). Training data synthesis, evaluation, the
 * API and the worker all fit through `fitToK49`; the API, the worker and
 * corrections reach it through `decodeForModel` (decoding and the blank-image
 * rule). An input that already is a 28x28 light-on-dark image is passed
 * through untouched.
 */
import { cleanPage, selectInPlace } from './clean-page';
import { type DecodeLimits, decodeRgba, ImageDecodeError } from './decode';
import { fitToK49, PREPROCESS } from './fit';

/** The one blank-image rule (decodeForModel: API, worker, corrections): a preprocessed image with no ink cannot be classified. */
const BLANK_IMAGE_MESSAGE = 'the image is blank: no ink was found';
function isBlank(image: Uint8Array): boolean {
  return image.every((v) => v === 0);
}

/** An upload as the model sees it: decoded by decodeToK49, and refused when blank. The API, the worker and corrections all use this. */
export async function decodeForModel(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  const image = await decodeToK49(bytes, limits);
  if (isBlank(image)) throw new ImageDecodeError('blank', BLANK_IMAGE_MESSAGE);
  return image;
}

/**
 * Any accepted raster image -> K49 28x28 (784 bytes, white ink on black), decoded by decodeRgba.
 * - Transparent images (a canvas drawing): ink is the alpha channel.
 * - Otherwise greyscale; the background tells the polarity, and dark-on-light
 *   images are inverted; the paper is cleaned away (clean-page.ts).
 * - A 28x28 greyscale light-on-dark image (a K49 image) passes unchanged.
 */
export async function decodeToK49(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  const pixels = await decodeRgba(bytes, limits);
  return rgbaToK49(pixels.data, pixels.width, pixels.height);
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
function isLightBackground(border: number, n: number, luma: (i: number) => number, k49Sized: boolean): boolean {
  if (border > 255 - CLEAR_LEVEL) return true;
  if (border < CLEAR_LEVEL && k49Sized) return false;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = luma(i);
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
  // Luma at float32 precision, computed where it is used: an array for it would cost more than the arithmetic.
  const luma = (i: number) => Math.fround(0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!);
  // The border's median, by selection: cheaper than sorting a typed array, which dominated a 28x28 image's cost.
  const border = new Float32Array(2 * (width + height));
  for (let x = 0; x < width; x++) {
    border[2 * x] = luma(x);
    border[2 * x + 1] = luma((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    border[2 * width + 2 * y] = luma(y * width);
    border[2 * width + 2 * y + 1] = luma(y * width + width - 1);
  }
  const k49Sized = width === PREPROCESS.size && height === PREPROCESS.size;
  const lightBackground = isLightBackground(selectInPlace(border, 0.5), n, luma, k49Sized);
  if (k49Sized && !lightBackground) {
    // Already a K49 image: keep it exactly.
    const image = new Uint8Array(n);
    for (let i = 0; i < n; i++) image[i] = Math.round(luma(i));
    return image;
  }
  const ink = new Float32Array(n);
  for (let i = 0; i < n; i++) ink[i] = lightBackground ? 255 - luma(i) : luma(i);
  return fitToK49({ width, height, data: cleanPage(ink, width, height) });
}
