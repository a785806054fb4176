/**
 * The one image preprocessing of the system: anything becomes a K49-style
 * 28x28 image (white ink on black, cropped to the ink, longer side scaled to
 * 28 keeping the aspect ratio, centred). Four parts, one file each:
 * decode.ts (bytes -> RGBA pixels, Node only), pixels.ts (RGBA -> ink, its
 * polarity), clean-page.ts (a crop of a page -> ink on black) and fit.ts
 * (ink -> 28x28); all but decode.ts are browser-safe and the web page runs
 * them too (serve/ui/in-browser.ts). Training data synthesis, evaluation, the
 * API and the worker all fit through `fitToK49`; the API, the worker and
 * corrections reach it through `decodeForModel` (decoding and the blank-image
 * rule). An input that already is a 28x28 light-on-dark image is passed
 * through untouched.
 */
import { type DecodeLimits, decodeRgba, ImageDecodeError } from './decode';
import { BLANK_IMAGE_MESSAGE, isBlank, rgbaToK49 } from './pixels';

export { rgbaToK49 };

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
