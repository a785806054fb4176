/**
 * Fitting to K49's format: crop to the ink, longer side scaled to 28 keeping
 * the aspect ratio, centred, brightest ink at 255; and the model's input
 * scaling. Real K49 images have their glyph's longer side at the full 28 px
 * almost always (see `make eda`), so fitting is close to the identity on them.
 */
/** K49's image side and pixel count (dataset.ts re-exports them for the data code). */
export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

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
  let x0 = img.width,
    y0 = img.height,
    x1 = -1,
    y1 = -1;
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
    // Enlarging: bilinear interpolation on pixel centres. (`at` is made once: a closure made per pixel cost a
    // fifth of a page reader's crop.)
    const at = (xx: number, yy: number) => src.data[(box.y0 + yy) * src.width + box.x0 + xx]!;
    for (let y = 0; y < dh; y++) {
      const sy = Math.min(Math.max((y + 0.5) * fy - 0.5, 0), sh - 1);
      const y0 = Math.floor(sy),
        y1 = Math.min(y0 + 1, sh - 1),
        ty = sy - y0;
      for (let x = 0; x < dw; x++) {
        const sx = Math.min(Math.max((x + 0.5) * fx - 0.5, 0), sw - 1);
        const x0 = Math.floor(sx),
          x1 = Math.min(x0 + 1, sw - 1),
          tx = sx - x0;
        out[y * dw + x] = (1 - ty) * ((1 - tx) * at(x0, y0) + tx * at(x1, y0)) + ty * ((1 - tx) * at(x0, y1) + tx * at(x1, y1));
      }
    }
    return out;
  }
  for (let y = 0; y < dh; y++) {
    const ya = y * fy,
      yb = ya + fy;
    for (let x = 0; x < dw; x++) {
      const xa = x * fx,
        xb = xa + fx;
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

/** Model input for a batch of K49 images (N*784 bytes) as floats in [0, 1]. */
export function toModelInput(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! * PREPROCESS.scale;
  return out;
}
