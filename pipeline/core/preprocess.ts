/**
 * The one image preprocessing of the system: anything becomes a K49-style
 * 28x28 image (white ink on black, cropped to the ink, longer side scaled to
 * 28 keeping the aspect ratio, centred). Training data synthesis,
 * evaluation, the API and the worker all go through `fitToK49`; the API and
 * worker reach it through `decodeForModel` (decoding with sharp, and the
 * blank-image rule).
 *
 * Real K49 images have their glyph's longer side at the full 28 px almost
 * always (see `make eda`), so fitting is close to the identity on them; an
 * input that already is a 28x28 light-on-dark image is passed through
 * untouched.
 */
import { decode as decodeBmp } from 'bmp-ts';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { IMAGE_SIZE, PIXELS } from './dataset';

/** Preprocessing parameters, stored in every artifact so serving matches training. */
export const PREPROCESS = Object.freeze({
  size: IMAGE_SIZE,
  /** A pixel is ink for cropping when above this fraction of the brightest pixel. */
  inkThreshold: 0.2,
  /** ...and above this absolute value (0..255), so faint noise never counts. */
  inkFloor: 16,
  /** Model input = pixel / 255 (no dataset mean/std: keeps 0 = background). */
  scale: 1 / 255,
});

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major intensities 0..255, ink bright. */
  data: Float32Array | Uint8Array;
}

export interface InkBox {
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
}

/** Bounding box of the ink, or null when the image holds none. */
export function inkBox(img: GrayImage): InkBox | null {
  let max = 0;
  for (const v of img.data) if (v > max) max = v;
  const threshold = Math.max(PREPROCESS.inkFloor, PREPROCESS.inkThreshold * max);
  let x0 = img.width, y0 = img.height, x1 = -1, y1 = -1;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x++) {
      if (img.data[row + x]! > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Area-weighted resampling of a window of `src` to `dw x dh`: each output
 * pixel averages the input area it covers (no aliasing when shrinking,
 * smooth bilinear-like results when enlarging).
 */
function resampleArea(src: GrayImage, box: InkBox, dw: number, dh: number): Float32Array {
  const out = new Float32Array(dw * dh);
  const sw = box.x1 - box.x0;
  const sh = box.y1 - box.y0;
  const fx = sw / dw;
  const fy = sh / dh;
  if (fx < 1 || fy < 1) {
    // Enlarging: bilinear interpolation on pixel centres.
    for (let y = 0; y < dh; y++) {
      const sy = Math.min(Math.max((y + 0.5) * fy - 0.5, 0), sh - 1);
      const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, sh - 1), ty = sy - y0;
      for (let x = 0; x < dw; x++) {
        const sx = Math.min(Math.max((x + 0.5) * fx - 0.5, 0), sw - 1);
        const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, sw - 1), tx = sx - x0;
        const at = (xx: number, yy: number) => src.data[(box.y0 + yy) * src.width + box.x0 + xx]!;
        out[y * dw + x] =
          (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x1, y0)) + ty * ((1 - tx) * at(x0, y1) + tx * at(x1, y1));
      }
    }
    return out;
  }
  for (let y = 0; y < dh; y++) {
    const ya = y * fy, yb = ya + fy;
    for (let x = 0; x < dw; x++) {
      const xa = x * fx, xb = xa + fx;
      let sum = 0;
      for (let sy = Math.floor(ya); sy < Math.ceil(yb); sy++) {
        const wy = Math.min(yb, sy + 1) - Math.max(ya, sy);
        const row = (box.y0 + sy) * src.width + box.x0;
        for (let sx = Math.floor(xa); sx < Math.ceil(xb); sx++) {
          const wx = Math.min(xb, sx + 1) - Math.max(xa, sx);
          sum += wx * wy * src.data[row + sx]!;
        }
      }
      out[y * dw + x] = sum / (fx * fy);
    }
  }
  return out;
}

/**
 * Crops to the ink, scales the longer side to 28 keeping the aspect ratio,
 * centres, and stretches contrast so the brightest ink is 255.
 * Returns 784 bytes; an image without ink gives all zeros.
 */
export function fitToK49(img: GrayImage): Uint8Array {
  const size = PREPROCESS.size;
  const out = new Uint8Array(PIXELS);
  const box = inkBox(img);
  if (!box) return out;
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const scale = size / Math.max(bw, bh);
  const dw = Math.max(1, Math.min(size, Math.round(bw * scale)));
  const dh = Math.max(1, Math.min(size, Math.round(bh * scale)));
  const small = resampleArea(img, box, dw, dh);
  let max = 0;
  for (const v of small) if (v > max) max = v;
  const gain = max > 0 ? 255 / max : 0;
  const ox = Math.floor((size - dw) / 2);
  const oy = Math.floor((size - dh) / 2);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      out[(oy + y) * size + ox + x] = Math.min(255, Math.round(small[y * dw + x]! * gain));
    }
  }
  return out;
}

/** The one blank-image rule (decodeForModel: API, worker, corrections): a preprocessed image with no ink cannot be classified. */
const BLANK_IMAGE_MESSAGE = 'the image is blank: no ink was found';
function isBlank(image: Uint8Array): boolean {
  return image.every((v) => v === 0);
}

/** Model input for a batch of K49 images (N*784 bytes) as floats in [0, 1]. */
export function toModelInput(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! * PREPROCESS.scale;
  return out;
}

// ---------------------------------------------------------------------------
// Decoding uploads (API and worker): bytes -> K49 28x28, through sharp.


/** Raster formats accepted, recognised by their magic bytes before any decoding. */
const MAGIC: { format: string; test: (b: Buffer) => boolean }[] = [
  { format: 'png', test: (b) => b.length > 8 && b.readUInt32BE(0) === 0x89504e47 },
  { format: 'jpeg', test: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { format: 'gif', test: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { format: 'webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { format: 'tiff', test: (b) => ['II*\0', 'MM\0*'].includes(b.subarray(0, 4).toString('latin1')) },
  { format: 'bmp', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' },
];

export type DecodeErrorKind = 'unsupported' | 'too_large' | 'corrupt' | 'empty' | 'blank';

/** Why an upload cannot become a K49 image; `kind` maps to an HTTP status in the API. */
export class ImageDecodeError extends Error {
  constructor(
    readonly kind: DecodeErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export interface DecodeLimits {
  maxPixels: number;
}

/** Work size for large inputs: glyph detail above this is lost at 28 px anyway. */
const WORK_MAX_SIDE = 512;

export function sniffFormat(bytes: Buffer): string | null {
  return MAGIC.find((m) => m.test(bytes))?.format ?? null;
}

/**
 * Any accepted raster image -> K49 28x28 (784 bytes, white ink on black).
 * - Transparent images (a canvas drawing): ink is the alpha channel.
 * - Otherwise greyscale; the border tells the background, and dark-on-light
 *   images are inverted; the background level is subtracted.
 * - A 28x28 greyscale light-on-dark image (a K49 image) passes unchanged.
 * SVG, PDF and anything else that is not a raster format is refused before
 * decoding (they can reference local files); the pixel limit is checked from
 * the header before decoding.
 */
/** An upload as the model sees it: decoded by decodeToK49, and refused when blank. The API, the worker and corrections all use this. */
export async function decodeForModel(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  const image = await decodeToK49(bytes, limits);
  if (isBlank(image)) throw new ImageDecodeError('blank', BLANK_IMAGE_MESSAGE);
  return image;
}

export async function decodeToK49(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  if (bytes.length === 0) throw new ImageDecodeError('empty', 'the file is empty');
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageDecodeError('unsupported', 'not a raster image: send PNG, JPEG, WebP, GIF, TIFF or BMP (SVG, PDF and other formats are refused)');
  }
  // One sharp call: limitInputPixels makes sharp refuse, from the header and
  // before decoding, an image over MAX_PIXELS (a decompression bomb).
  // autoOrient applies the EXIF orientation (phone photos are stored sideways).
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const input = format === 'bmp' ? decodeBmpInput(bytes, limits) : sharp(bytes, { limitInputPixels: limits.maxPixels, pages: 1, failOn: 'error', autoOrient: true });
    raw = await input
      .resize({ width: WORK_MAX_SIDE, height: WORK_MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb') // greyscale inputs would otherwise stay 1-2 channels
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const message = (e as Error).message;
    if (/pixel limit/i.test(message)) throw tooLarge(limits);
    throw new ImageDecodeError('corrupt', `cannot decode this ${format.toUpperCase()} image (truncated or damaged?): ${message}`);
  }
  if (raw.info.channels !== 4) throw new ImageDecodeError('corrupt', `unexpected ${raw.info.channels}-channel decoding`);
  return rgbaToK49(raw.data, raw.info.width, raw.info.height);
}

function tooLarge(limits: DecodeLimits): ImageDecodeError {
  return new ImageDecodeError('too_large', `the image has more pixels than the limit of ${limits.maxPixels} (MAX_PIXELS)`);
}

/**
 * BMP (which sharp's libvips cannot read) through bmp-ts, as raw RGBA for the
 * same sharp pipeline. The size is read from the header first, so a bomb is
 * refused before any pixel buffer is allocated. BMP is taken as opaque.
 */
function decodeBmpInput(bytes: Buffer, limits: DecodeLimits): Sharp {
  if (bytes.length < 26) throw new ImageDecodeError('corrupt', 'cannot decode this BMP image: the header is truncated');
  const width = bytes.readInt32LE(18);
  const height = Math.abs(bytes.readInt32LE(22));
  if (width <= 0 || height <= 0) throw new ImageDecodeError('corrupt', `cannot decode this BMP image: it declares ${width} x ${height} pixels`);
  if (width * height > limits.maxPixels) throw tooLarge(limits);
  let abgr: Buffer;
  try {
    abgr = decodeBmp(bytes).data;
  } catch (e) {
    throw new ImageDecodeError('corrupt', `cannot decode this BMP image (truncated or damaged?): ${(e as Error).message}`);
  }
  if (abgr.length !== width * height * 4) throw new ImageDecodeError('corrupt', 'cannot decode this BMP image: the pixel data is truncated');
  const rgba = Buffer.alloc(abgr.length);
  for (let i = 0; i < abgr.length; i += 4) {
    rgba[i] = abgr[i + 3]!;
    rgba[i + 1] = abgr[i + 2]!;
    rgba[i + 2] = abgr[i + 1]!;
    rgba[i + 3] = 255;
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } });
}

/** RGBA pixels -> K49 28x28 (the colour and polarity part of the preprocessing). */
export function rgbaToK49(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  let minAlpha = 255;
  for (let i = 0; i < n; i++) if (rgba[i * 4 + 3]! < minAlpha) minAlpha = rgba[i * 4 + 3]!;
  const ink = new Float32Array(n);
  if (minAlpha < 250) {
    // Transparency carries the drawing: ink = alpha-weighted contrast to the
    // opaque colour, so dark strokes on a transparent canvas count as ink.
    for (let i = 0; i < n; i++) ink[i] = rgba[i * 4 + 3]!;
    return fitToK49({ width, height, data: ink });
  }
  const luma = new Float32Array(n);
  for (let i = 0; i < n; i++) luma[i] = 0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!;
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(luma[x]!, luma[(height - 1) * width + x]!);
  for (let y = 0; y < height; y++) border.push(luma[y * width]!, luma[y * width + width - 1]!);
  border.sort((a, b) => a - b);
  const background = border[Math.floor(border.length / 2)]!;
  const lightBackground = background > 127;
  if (width === PREPROCESS.size && height === PREPROCESS.size && !lightBackground) {
    // Already a K49 image: keep it exactly.
    return Uint8Array.from(luma, (v) => Math.round(v));
  }
  const bgInk = lightBackground ? 255 - background : background;
  const gain = 255 / Math.max(1, 255 - bgInk);
  for (let i = 0; i < n; i++) {
    const v = lightBackground ? 255 - luma[i]! : luma[i]!;
    ink[i] = Math.max(0, v - bgInk) * gain;
  }
  return fitToK49({ width, height, data: ink });
}
