/**
 * The one image preprocessing of the system: anything becomes a K49-style
 * 28x28 image (white ink on black, cropped to the ink, longer side scaled to
 * 28 keeping the aspect ratio, centred). Training data synthesis,
 * evaluation, the API and the worker all go through `fitToK49`; the API and
 * worker reach it through `decodeForModel` (decoding, with sharp or, for a
 * small plain PNG, in-line; and the blank-image rule).
 *
 * Real K49 images have their glyph's longer side at the full 28 px almost
 * always (see `make eda`), so fitting is close to the identity on them; an
 * input that already is a 28x28 light-on-dark image is passed through
 * untouched.
 */
import { decode as decodeBmp } from 'bmp-ts';
import { PNG } from 'pngjs';
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

/** An upload as the model sees it: decoded by decodeToK49, and refused when blank. The API, the worker and corrections all use this. */
export async function decodeForModel(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  const image = await decodeToK49(bytes, limits);
  if (isBlank(image)) throw new ImageDecodeError('blank', BLANK_IMAGE_MESSAGE);
  return image;
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
export async function decodeToK49(bytes: Buffer, limits: DecodeLimits): Promise<Uint8Array> {
  if (bytes.length === 0) throw new ImageDecodeError('empty', 'the file is empty');
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageDecodeError('unsupported', 'not a raster image: send PNG, JPEG, WebP, GIF, TIFF or BMP (SVG, PDF and other formats are refused)');
  }
  const pixels = (format === 'png' ? decodePlainPng(bytes, limits) : null) ?? (await decodeWithSharp(bytes, format, limits));
  return rgbaToK49(pixels.data, pixels.width, pixels.height);
}

/** Decoded pixels, 4 bytes (RGBA) per pixel. */
export interface RgbaImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Any accepted format through sharp, downscaled to the work size, as RGBA. */
export async function decodeWithSharp(bytes: Buffer, format: string, limits: DecodeLimits): Promise<RgbaImage> {
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
  return { data: raw.data, width: raw.info.width, height: raw.info.height };
}

/** PNG chunks that would make sharp's decoding differ from a plain one: a colour profile (converted to sRGB), an EXIF orientation. */
const SHARP_ONLY_PNG_CHUNKS = new Set(['iCCP', 'eXIf']);

/**
 * A small plain PNG (8 bits per sample, no larger than the work size, no
 * colour profile or EXIF), the common upload (a K49 image is 28x28), decoded
 * in-line: the same RGBA pixels as decodeWithSharp, without sharp's set-up
 * and thread-pool round trip, which cost more than such an image's decoding.
 * Anything else, or a PNG this decoder rejects, is null: it goes through
 * sharp (whose errors are the ones reported).
 */
export function decodePlainPng(bytes: Buffer, limits: DecodeLimits): RgbaImage | null {
  if (bytes.length < 33 || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = bytes.readUInt32BE(16), height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24]!;
  if (bitDepth !== 8 || width > WORK_MAX_SIDE || height > WORK_MAX_SIDE || width * height > limits.maxPixels) return null;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (SHARP_ONLY_PNG_CHUNKS.has(type)) return null;
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + bytes.readUInt32BE(at);
  }
  try {
    const png = PNG.sync.read(bytes);
    return { data: png.data, width: png.width, height: png.height };
  } catch {
    return null;
  }
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

// ---------------------------------------------------------------------------
// Photos and scans of a page: a character cropped with a margin sits on grey
// or yellowed paper, lit unevenly, grainy, with bits of its neighbours at the
// edges. cleanPage turns such a crop (ink bright) into ink on black before the
// crop to the ink box, so paper texture and neighbours do not enlarge the box.

/** Side of the cells over which the paper level is estimated, as a share of the shorter side. */
const PAPER_CELL = 1 / 6;
/** The paper level of a cell: this percentile of its pixels (below the median, as strokes cover part of a cell). */
const PAPER_PERCENTILE = 0.35;
/** The clearest paper of a cell: this lower percentile of its pixels. */
const CLEAR_PAPER_PERCENTILE = 0.05;
/** The ink level: this percentile of what stands out of the paper. */
const INK_PERCENTILE = 0.995;
/** A crop holds ink only if its ink level stands this many times the paper's grain (robust standard deviation) out of the paper. */
const GRAIN_MULTIPLE = 3;
/**
 * Residuals within this many times the grain are paper. Lower than GRAIN_MULTIPLE: the soft edges of real
 * brush strokes lie close to the paper, and cutting them thins the strokes (a tight crop most of all).
 */
const EDGE_MULTIPLE = 2;
/** Paper darker than this (0..255) is not divided by its own brightness: that would amplify noise in deep shade. */
const MIN_PAPER_BRIGHTNESS = 32;
/** A piece of ink touching an edge, reaching no deeper than this share of the crop, and smaller than FRAGMENT_SHARE of the character is a neighbour's fragment. */
const FRAGMENT_DEPTH = 0.25;
const FRAGMENT_SHARE = 0.5;

/** The value at rank floor(p * n) of `values` in ascending order (what sorting and indexing would give); `values` is left as it was. */
function percentile(values: Float32Array, p: number): number {
  return selectInPlace(new Float32Array(values), p);
}

/**
 * percentile() on a buffer the caller no longer needs, which it reorders:
 * quickselect, linear time rather than a sort, as this runs on every upload.
 */
function selectInPlace(a: Float32Array, p: number): number {
  if (a.length === 0) return 0;
  const k = Math.min(a.length - 1, Math.floor(p * a.length));
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** The paper's level at every pixel: a percentile per cell, interpolated bilinearly between cell centres. */
function paperLevel(v: Float32Array, width: number, height: number): Float32Array {
  const cell = Math.max(4, Math.round(Math.min(width, height) * PAPER_CELL));
  const gw = Math.max(1, Math.round(width / cell)), gh = Math.max(1, Math.round(height / cell));
  const grid = new Float32Array(gw * gh), clearest = new Float32Array(gw * gh);
  const cellValues = new Float32Array((Math.ceil(width / gw) + 1) * (Math.ceil(height / gh) + 1));
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const x0 = Math.floor((gx * width) / gw), x1 = Math.floor(((gx + 1) * width) / gw);
      const y0 = Math.floor((gy * height) / gh), y1 = Math.floor(((gy + 1) * height) / gh);
      let count = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) cellValues[count++] = v[y * width + x]!;
      const values = cellValues.subarray(0, count);
      grid[gy * gw + gx] = selectInPlace(values, PAPER_PERCENTILE);
      // After the select above, values[0..k] hold the lower ranks: the clearest paper of the cell.
      clearest[gy * gw + gx] = selectInPlace(values.subarray(0, Math.floor(PAPER_PERCENTILE * count) + 1), CLEAR_PAPER_PERCENTILE / PAPER_PERCENTILE);
    }
  }
  // A cell mostly covered by ink has its PAPER_PERCENTILE in the ink; its clearest pixels are still paper.
  // Cap it at them plus the usual gap between the two percentiles on paper (a low quartile over the cells).
  const paperSpread = percentile(grid.map((g, k) => g - clearest[k]!), 0.25);
  for (let k = 0; k < grid.length; k++) grid[k] = Math.min(grid[k]!, clearest[k]! + paperSpread);
  // A cell filled by a thick stroke is not paper: cap the cells far above the others (uneven light varies smoothly).
  const middle = percentile(grid, 0.5);
  const spread = 1.4826 * percentile(grid.map((g) => Math.abs(g - middle)), 0.5);
  for (let k = 0; k < grid.length; k++) grid[k] = Math.min(grid[k]!, middle + 3 * spread + 4);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * gh) / height - 0.5, 0), gh - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, gh - 1), ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * gw) / width - 0.5, 0), gw - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, gw - 1), tx = fx - x0;
      out[y * width + x] =
        (1 - ty) * ((1 - tx) * grid[y0 * gw + x0]! + tx * grid[y0 * gw + x1]!) + ty * ((1 - tx) * grid[y1 * gw + x0]! + tx * grid[y1 * gw + x1]!);
    }
  }
  return out;
}

/**
 * Zeroes the fragments of neighbouring characters: pieces of ink (8-connected,
 * above half the ink level) that touch an edge, reach no deeper into the crop
 * than FRAGMENT_DEPTH of its size from that edge, and are smaller than
 * FRAGMENT_SHARE of the ink that stands clear of the edges (the character).
 * A crop with no ink clear of the edges (a tight crop) keeps everything.
 */
function dropEdgeFragments(ink: Float32Array, width: number, height: number): void {
  const label = new Int32Array(width * height).fill(-1);
  const pieces: { area: number; depth: number; pixels: number[] }[] = [];
  for (let start = 0; start < ink.length; start++) {
    if (label[start] !== -1 || ink[start]! < 128) continue;
    const pixels: number[] = [];
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    const stack = [start];
    label[start] = pieces.length;
    while (stack.length > 0) {
      const i = stack.pop()!;
      pixels.push(i);
      const x = i % width, y = (i - x) / width;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const j = ny * width + nx;
          if (label[j] === -1 && ink[j]! >= 128) {
            label[j] = pieces.length;
            stack.push(j);
          }
        }
      }
    }
    // How far the piece reaches into the crop from each edge it touches, as a share of the crop (1 = clear of the edges).
    const depths = [
      y0 === 0 ? (y1 + 1) / height : 1,
      y1 === height - 1 ? (height - y0) / height : 1,
      x0 === 0 ? (x1 + 1) / width : 1,
      x1 === width - 1 ? (width - x0) / width : 1,
    ];
    pieces.push({ area: pixels.length, depth: Math.min(...depths), pixels });
  }
  const character = pieces.filter((p) => p.depth === 1).reduce((a, p) => a + p.area, 0);
  if (character === 0) return;
  for (const p of pieces) {
    if (p.depth > FRAGMENT_DEPTH || p.area >= FRAGMENT_SHARE * character) continue;
    // The fragment and its faint rim: its pixels and their neighbours that belong to no other piece.
    for (const i of p.pixels) {
      const x = i % width, y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          const j = ny * width + nx;
          if (nx >= 0 && ny >= 0 && nx < width && ny < height && (label[j] === -1 || label[j] === label[i])) ink[j] = 0;
        }
      }
    }
  }
}

/**
 * A crop with ink bright (0..255) -> ink on black, 0..255: the paper level
 * (estimated per region, so uneven light is flat) subtracted and the
 * difference divided by the paper's brightness, the paper's grain cut off,
 * the ink stretched to full range, and fragments of the neighbouring
 * characters at the edges removed.
 */
export function cleanPage(v: Float32Array, width: number, height: number): Float32Array {
  const paper = paperLevel(v, width, height);
  const residual = new Float32Array(v.length);
  // Light multiplies paper and ink alike, so ink is measured against the paper's own brightness
  // (255 - paper, before inversion): a stroke in shade then reads as the same stroke in full light.
  for (let i = 0; i < v.length; i++) residual[i] = (255 * (v[i]! - paper[i]!)) / Math.max(MIN_PAPER_BRIGHTNESS, 255 - paper[i]!);
  const grain = 1.4826 * selectInPlace(residual.map(Math.abs), 0.5);
  const top = percentile(residual, INK_PERCENTILE);
  const ink = new Float32Array(v.length);
  if (top - GRAIN_MULTIPLE * grain < 1) return ink;
  const floor = EDGE_MULTIPLE * grain;
  for (let i = 0; i < v.length; i++) ink[i] = Math.min(255, (255 * Math.max(0, residual[i]! - floor)) / (top - floor));
  dropEdgeFragments(ink, width, height);
  return ink;
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
  for (let x = 0; x < width; x++) (border[2 * x] = luma(x)), (border[2 * x + 1] = luma((height - 1) * width + x));
  for (let y = 0; y < height; y++) (border[2 * width + 2 * y] = luma(y * width)), (border[2 * width + 2 * y + 1] = luma(y * width + width - 1));
  const background = selectInPlace(border, 0.5);
  const lightBackground = background > 127;
  if (width === PREPROCESS.size && height === PREPROCESS.size && !lightBackground) {
    // Already a K49 image: keep it exactly.
    const image = new Uint8Array(n);
    for (let i = 0; i < n; i++) image[i] = Math.round(luma(i));
    return image;
  }
  const ink = new Float32Array(n);
  for (let i = 0; i < n; i++) ink[i] = lightBackground ? 255 - luma(i) : luma(i);
  return fitToK49({ width, height, data: cleanPage(ink, width, height) });
}
