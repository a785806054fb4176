/**
 * Image-space augmentations that imitate scanned brush writing. They work on
 * float images (0..255, ink bright) of any size.
 */
import type { Random } from '../core/random';
import { bilinearSample } from '../core/warp';

/** Bilinear interpolation of a coarse (grid+1)^2 field at fractional grid position. */
function lerpGrid(f: Float64Array, n: number, gx0: number, gy0: number, tx: number, ty: number): number {
  const i = gy0 * n + gx0;
  return (1 - ty) * ((1 - tx) * f[i]! + tx * f[i + 1]!) + ty * ((1 - tx) * f[i + n]! + tx * f[i + n + 1]!);
}

/**
 * Elastic distortion: a coarse grid of random displacements (std `sigma`
 * pixels), bilinearly upsampled into a smooth field, so strokes bend like
 * hand-made ones instead of shaking pixel by pixel.
 */
export function elastic(src: Float32Array, w: number, h: number, sigma: number, rng: Random, grid = 4): Float32Array {
  const n = grid + 1;
  const dx = Float64Array.from({ length: n * n }, () => rng.normal(0, sigma));
  const dy = Float64Array.from({ length: n * n }, () => rng.normal(0, sigma));
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const gy = (y / (h - 1)) * grid;
    const gy0 = Math.min(Math.floor(gy), grid - 1),
      ty = gy - gy0;
    for (let x = 0; x < w; x++) {
      const gx = (x / (w - 1)) * grid;
      const gx0 = Math.min(Math.floor(gx), grid - 1),
        tx = gx - gx0;
      out[y * w + x] = bilinearSample(src, w, h, x + lerpGrid(dx, n, gx0, gy0, tx, ty), y + lerpGrid(dy, n, gx0, gy0, tx, ty));
    }
  }
  return out;
}

/** Separable Gaussian blur. */
export function gaussianBlur(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  if (sigma <= 0) return src;
  const radius = Math.ceil(sigma * 2.5);
  const kernel: number[] = [];
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel.push(v);
    total += v;
  }
  const k = kernel.map((v) => v / total);
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -radius; i <= radius; i++) {
        const xx = x + i;
        if (xx >= 0 && xx < w) s += k[i + radius]! * src[y * w + xx]!;
      }
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -radius; i <= radius; i++) {
        const yy = y + i;
        if (yy >= 0 && yy < h) s += k[i + radius]! * tmp[yy * w + x]!;
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

/**
 * Real K49 crops often hold a piece of the character above or below
 * (vertical writing): paste `rows` rows from the far edge of `other` at the
 * top or bottom of `img` (both w x h).
 */
export function pasteNeighbourStrip(img: Float32Array, other: ArrayLike<number>, w: number, h: number, rows: number, atTop: boolean): void {
  for (let r = 0; r < rows; r++) {
    const dst = atTop ? r : h - rows + r;
    const src = atTop ? h - rows + r : r;
    for (let x = 0; x < w; x++) {
      img[dst * w + x] = Math.max(img[dst * w + x]!, other[src * w + x]!);
    }
  }
}

/** Zeroes a random rectangle (random erasing / dropout of ink). */
export function eraseRectangle(img: Float32Array, w: number, h: number, rng: Random, minSide: number, maxSide: number): void {
  const rw = rng.int(minSide, maxSide + 1),
    rh = rng.int(minSide, maxSide + 1);
  const x0 = rng.int(0, w - rw + 1),
    y0 = rng.int(0, h - rh + 1);
  for (let y = y0; y < y0 + rh; y++) img.fill(0, y * w + x0, y * w + x0 + rw);
}

/** Contrast curve on the ink (gamma on 0..1), plus Gaussian noise. */
export function inkAndNoise(img: Float32Array, gamma: number, noiseStd: number, rng: Random): void {
  for (let i = 0; i < img.length; i++) {
    let v = 255 * Math.min(Math.max(img[i]! / 255, 0), 1) ** gamma;
    if (noiseStd > 0) v += rng.normal(0, noiseStd);
    img[i] = Math.min(255, Math.max(0, v));
  }
}

/** Mean stroke width (px) of a binary-ish image: 2 * ink area / ink boundary. */
export function strokeWidth(img: ArrayLike<number>, w: number, h: number, threshold = 128): number {
  let area = 0,
    boundary = 0;
  const ink = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && img[y * w + x]! > threshold;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!ink(x, y)) continue;
      area++;
      if (!ink(x - 1, y) || !ink(x + 1, y) || !ink(x, y - 1) || !ink(x, y + 1)) boundary++;
    }
  }
  return boundary === 0 ? 0 : (2 * area) / boundary;
}
