/**
 * Decoding uploads: the format recognised by its magic bytes (only raster
 * formats; SVG and PDF are refused before decoding), the pixel limit checked
 * from the header, then RGBA pixels through sharp (BMP through bmp-ts) or,
 * for a small plain PNG, in-line (png.ts).
 */
import { decode as decodeBmp } from 'bmp-ts';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { WORK_MAX_SIDE } from './pixels';
import { decodeSmallPng } from './png';

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

/** Work size of a page scan (the page reader): a page's characters keep 60-150 px at this size. */
export const PAGE_MAX_SIDE = 2400;

function sniffFormat(bytes: Buffer): string | null {
  return MAGIC.find((m) => m.test(bytes))?.format ?? null;
}

/** Decoded pixels, 4 bytes (RGBA) per pixel. */
export interface RgbaImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Any accepted raster image as RGBA pixels, at most `maxSide` a side (a character's work size by
 * default; PAGE_MAX_SIDE for a page). SVG, PDF and anything else that is not a raster format is
 * refused before decoding (they can reference local files); the pixel limit is checked from the
 * header before decoding.
 */
export async function decodeRgba(bytes: Buffer, limits: DecodeLimits, maxSide = WORK_MAX_SIDE): Promise<RgbaImage> {
  if (bytes.length === 0) throw new ImageDecodeError('empty', 'the file is empty');
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ImageDecodeError('unsupported', 'not a raster image: send PNG, JPEG, WebP, GIF, TIFF or BMP (SVG, PDF and other formats are refused)');
  }
  return (format === 'png' && maxSide === WORK_MAX_SIDE ? decodePlainPng(bytes, limits) : null) ?? (await decodeWithSharp(bytes, format, limits, maxSide));
}

/** Any accepted format through sharp, downscaled to `maxSide`, as RGBA. */
export async function decodeWithSharp(bytes: Buffer, format: string, limits: DecodeLimits, maxSide = WORK_MAX_SIDE): Promise<RgbaImage> {
  // One sharp call: limitInputPixels makes sharp refuse, from the header and
  // before decoding, an image over MAX_PIXELS (a decompression bomb).
  // autoOrient applies the EXIF orientation (phone photos are stored sideways).
  let raw: { data: Buffer; info: OutputInfo };
  try {
    const input =
      format === 'bmp' ? decodeBmpInput(bytes, limits) : sharp(bytes, { limitInputPixels: limits.maxPixels, pages: 1, failOn: 'error', autoOrient: true });
    raw = await input
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
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

/** The size of an image decodeRgba accepted, as shown (EXIF orientation applied), from its header: what it was before being shrunk. */
export async function uprightSize(bytes: Buffer): Promise<{ width: number; height: number }> {
  if (sniffFormat(bytes) === 'bmp') return { width: bytes.readInt32LE(18), height: Math.abs(bytes.readInt32LE(22)) };
  return (await sharp(bytes, { pages: 1 }).metadata()).autoOrient;
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
  const width = bytes.readUInt32BE(16),
    height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24]!;
  if (bitDepth !== 8 || width > WORK_MAX_SIDE || height > WORK_MAX_SIDE || width * height > limits.maxPixels) return null;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (SHARP_ONLY_PNG_CHUNKS.has(type)) return null;
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + bytes.readUInt32BE(at);
  }
  return decodeSmallPng(bytes);
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
