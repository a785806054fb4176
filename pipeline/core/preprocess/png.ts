/**
 * A small decoder for the common upload, a small non-interlaced PNG with 8
 * bits per sample (a K49 image is a 28x28 grey PNG): chunks, one zlib
 * inflate, the five row filters, and expansion to RGBA as libvips does it
 * (grey, grey + alpha, RGB, RGBA, palette with or without transparency). About four
 * times cheaper than pngjs for a 28x28 image, whose per-image set-up cost
 * more than its pixels. Anything else is null, for sharp to decode.
 */
import { inflateSync } from 'node:zlib';

/** Channels per pixel of each 8-bit PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Paeth predictor (PNG specification, filter type 4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The pixel bytes with the row filters reversed (each row is `stride` bytes after its filter-type byte), or null for an unknown filter. */
function unfilter(data: Uint8Array, height: number, stride: number, bpp: number): Uint8Array | null {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride,
      up = row - stride;
    // One loop per filter type: the type is per row, so the per-byte loop has no branch.
    if (filter === 0 || (filter === 2 && y === 0)) {
      out.set(data.subarray(src, src + stride), row);
    } else if (filter === 1) {
      for (let x = 0; x < stride; x++) out[row + x] = data[src + x]! + (x >= bpp ? out[row + x - bpp]! : 0);
    } else if (filter === 2) {
      for (let x = 0; x < stride; x++) out[row + x] = data[src + x]! + out[up + x]!;
    } else if (filter === 3) {
      for (let x = 0; x < stride; x++) out[row + x] = data[src + x]! + (((x >= bpp ? out[row + x - bpp]! : 0) + (y > 0 ? out[up + x]! : 0)) >> 1);
    } else if (filter === 4) {
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? out[row + x - bpp]! : 0;
        const b = y > 0 ? out[up + x]! : 0;
        const c = x >= bpp && y > 0 ? out[up + x - bpp]! : 0;
        out[row + x] = data[src + x]! + paeth(a, b, c);
      }
    } else {
      return null;
    }
  }
  return out;
}

/** RGBA pixels of a small 8-bit non-interlaced PNG whose chunks were already screened, or null (sharp decodes it then). */
export function decodeSmallPng(bytes: Buffer): { data: Uint8Array; width: number; height: number } | null {
  const width = bytes.readUInt32BE(16),
    height = bytes.readUInt32BE(20);
  const colourType = bytes[25]!,
    interlace = bytes[28]!;
  const channels = CHANNELS[colourType];
  if (bytes[24] !== 8 || channels === undefined || interlace !== 0 || width === 0 || height === 0) return null;
  let palette: Buffer | null = null,
    transparency: Buffer | null = null;
  const idat: Buffer[] = [];
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (body.length !== length) return null;
    if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  // A grey or RGB image with a transparent colour (tRNS) is rare: sharp decodes it.
  if ((colourType === 3 && !palette) || (transparency && colourType !== 3)) return null;
  const stride = width * channels;
  let pixels: Uint8Array | null;
  try {
    const inflated = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat));
    if (inflated.length < height * (stride + 1)) return null;
    pixels = unfilter(inflated, height, stride, channels);
  } catch {
    return null;
  }
  if (!pixels) return null;
  const n = width * height;
  const rgba = new Uint8Array(n * 4);
  if (colourType === 3) {
    for (let i = 0; i < n; i++) {
      const index = pixels[i]!;
      if (index * 3 + 2 >= palette!.length) return null;
      rgba[i * 4] = palette![index * 3]!;
      rgba[i * 4 + 1] = palette![index * 3 + 1]!;
      rgba[i * 4 + 2] = palette![index * 3 + 2]!;
      rgba[i * 4 + 3] = transparency && index < transparency.length ? transparency[index]! : 255;
    }
  } else if (colourType === 0 || colourType === 4) {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      const v = pixels[p]!;
      rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = v;
      rgba[i * 4 + 3] = colourType === 4 ? pixels[p + 1]! : 255;
    }
  } else {
    for (let i = 0, p = 0; i < n; i++, p += channels) {
      rgba[i * 4] = pixels[p]!;
      rgba[i * 4 + 1] = pixels[p + 1]!;
      rgba[i * 4 + 2] = pixels[p + 2]!;
      rgba[i * 4 + 3] = colourType === 6 ? pixels[p + 3]! : 255;
    }
  }
  return { data: rgba, width, height };
}
