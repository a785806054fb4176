/**
 * Geometric warps of float images (0..255, ink bright) of any size, shared by
 * the synthetic data stage and training-time augmentation.
 */

/** Bilinear sample with black outside the image. */
export function bilinearSample(src: Float32Array, w: number, h: number, x: number, y: number): number {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const tx = x - x0,
    ty = y - y0;
  const inX0 = x0 >= 0 && x0 < w,
    inX1 = x0 + 1 >= 0 && x0 + 1 < w;
  const inY0 = y0 >= 0 && y0 < h,
    inY1 = y0 + 1 >= 0 && y0 + 1 < h;
  const r0 = y0 * w,
    r1 = r0 + w;
  const p00 = inX0 && inY0 ? src[r0 + x0]! : 0;
  const p10 = inX1 && inY0 ? src[r0 + x0 + 1]! : 0;
  const p01 = inX0 && inY1 ? src[r1 + x0]! : 0;
  const p11 = inX1 && inY1 ? src[r1 + x0 + 1]! : 0;
  return (1 - ty) * ((1 - tx) * p00 + tx * p10) + ty * ((1 - tx) * p01 + tx * p11);
}

/**
 * Affine warp: output pixel (x, y) takes the input at
 * (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]), bilinear, black outside.
 */
export function affineWarp(src: Float32Array, w: number, h: number, m: readonly number[], out = new Float32Array(w * h)): Float32Array {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out[y * w + x] = bilinearSample(src, w, h, m[0]! * x + m[1]! * y + m[2]!, m[3]! * x + m[4]! * y + m[5]!);
    }
  }
  return out;
}
