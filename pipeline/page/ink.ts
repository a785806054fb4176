/**
 * Ink on a page scan, for the cutter (cut.ts): the page shrunk to a work size, ink measured against the
 * paper it lies on (so shade and yellowed paper do not count, and red marks drop out), frames and rules
 * erased, and the ink's connected pieces, dust and page edges left out.
 */
import { interpolateGrid, selectInPlace } from '../core/preprocess/clean-page';
import { floodFill, floodRegion } from '../core/preprocess/flood';

/** Decoded page pixels, 4 bytes (RGBA) per pixel. */
export interface PagePixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The cutter works on the page shrunk to this longer side: characters stay 20-60 px, and a page costs tens of milliseconds. */
const WORK_SIDE = 1000;
/** Ink: this much darker than the paper around it, as a share of the paper's brightness. */
const INK_LEVEL = 0.3;
/** Fainter ink counts where it touches clear ink (a hairline between two strokes). */
const FAINT_INK = 0.12;
/** Pieces of ink smaller than this share of the work image's longer side (squared) are dust. */
const DUST = 1 / 350;

/**
 * The page shrunk to the work size (box average), as darkness 0..255 from the brightest of the three
 * channels: black and brown ink are dark in all three, red marks and stamps are bright in red and drop out.
 */
export function workDarkness(page: PagePixels): { dark: Float32Array; w: number; h: number; scale: number } {
  const scale = Math.min(1, WORK_SIDE / Math.max(page.width, page.height));
  const w = Math.max(1, Math.round(page.width * scale)),
    h = Math.max(1, Math.round(page.height * scale));
  const sum = new Float32Array(w * h),
    count = new Float32Array(w * h);
  for (let y = 0; y < page.height; y++) {
    const wy = Math.min(h - 1, Math.floor(y * scale));
    for (let x = 0; x < page.width; x++) {
      const i = 4 * (y * page.width + x);
      const bright = Math.max(page.data[i]!, page.data[i + 1]!, page.data[i + 2]!);
      const k = wy * w + Math.min(w - 1, Math.floor(x * scale));
      sum[k]! += 255 - bright;
      count[k]!++;
    }
  }
  for (let k = 0; k < w * h; k++) sum[k] = sum[k]! / Math.max(1, count[k]!);
  return { dark: sum, w, h, scale };
}

/** Ink mask of the work image: darker than the local paper by INK_LEVEL of the paper's brightness, frames and rules erased. */
export function inkMask(dark: Float32Array, w: number, h: number): Uint8Array {
  // The paper's darkness per cell: a low percentile (ink covers a minority of any cell), interpolated.
  const cell = Math.max(8, Math.round(Math.max(w, h) / 24));
  const gw = Math.max(1, Math.round(w / cell)),
    gh = Math.max(1, Math.round(h / cell));
  const grid = new Float32Array(gw * gh);
  const values = new Float32Array((Math.ceil(w / gw) + 1) * (Math.ceil(h / gh) + 1));
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      let n = 0;
      for (let y = Math.floor((gy * h) / gh); y < Math.floor(((gy + 1) * h) / gh); y++)
        for (let x = Math.floor((gx * w) / gw); x < Math.floor(((gx + 1) * w) / gw); x++) values[n++] = dark[y * w + x]!;
      grid[gy * gw + gx] = selectInPlace(values.subarray(0, n), 0.3);
    }
  }
  const paper = interpolateGrid(grid, gw, gh, w, h);
  // Hysteresis: clear ink (INK_LEVEL) is ink, and so is faint ink (FAINT_INK) that touches it: the hairlines of flowing strokes.
  const strength = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) strength[i] = (dark[i]! - paper[i]!) / Math.max(64, 255 - paper[i]!);
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    if (strength[i]! <= INK_LEVEL || mask[i]) continue;
    mask[i] = 1;
    floodFill(w, h, i, (k) => {
      if (mask[k] || !(strength[k]! > FAINT_INK)) return false;
      mask[k] = 1;
      return true;
    });
  }
  eraseLongLines(mask, w, h);
  return mask;
}

/**
 * Frames and rules, not writing: runs of ink straight to the pixel longer than a tenth of the page's side,
 * and runs that stay within a band of 5 work pixels (a tenth to a quarter of a character: a frame a little askew
 * on the scanner, or thick with a ragged edge), gaps of up to 3 pixels (worn wood, faint printing) aside,
 * longer than a fifth of it. No character fills such a band along a fifth of the page.
 */
const LINES = [
  { band: 1, run: 1 / 10, gap: 0 },
  { band: 5, run: 1 / 5, gap: 3 },
];

/**
 * Erases the frames and rules (LINES): along each row (and each column) of the work image, where the ink
 * of the band of rows around it runs on for a line's length, that row's ink is erased over the run. A line
 * askew by a pixel every few dozen, and the ragged fringe of a thick one, go with it; a stroke that crosses
 * it loses only the line's own width.
 */
function eraseLongLines(mask: Uint8Array, w: number, h: number): void {
  const rows = new Uint8Array(w * h);
  for (const line of LINES) markLines(mask, w, h, line, rows);
  // Vertical lines are the horizontal ones of the transposed image.
  const transposed = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) transposed[x * h + y] = mask[y * w + x]!;
  const columns = new Uint8Array(w * h);
  for (const line of LINES) markLines(transposed, h, w, line, columns);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (rows[y * w + x] || columns[x * h + y]) mask[y * w + x] = 0;
}

/** Marks in `erase` the pixels of the horizontal lines of `mask` (`w` x `h`) that `line` describes. */
function markLines(mask: Uint8Array, w: number, h: number, line: (typeof LINES)[number], erase: Uint8Array): void {
  const long = Math.round(line.run * w),
    half = (line.band - 1) / 2;
  // The ink count of the band of rows around row y at each x, kept as the band moves down by one.
  const inBand = new Uint16Array(w);
  for (let y = -half; y < h; y++) {
    const enter = (y + half) * w,
      leave = (y - half - 1) * w;
    if (y + half < h) for (let x = 0; x < w; x++) inBand[x]! += mask[enter + x]!;
    if (leave >= 0) for (let x = 0; x < w; x++) inBand[x]! -= mask[leave + x]!;
    if (y < 0) continue;
    for (let x = 0, start = -1, lastInk = -1; x <= w; x++) {
      const ink = x < w && inBand[x]! > 0;
      if (ink) {
        if (start < 0) start = x;
        lastInk = x;
      }
      if (start >= 0 && (x === w || (!ink && x - lastInk > line.gap))) {
        if (lastInk + 1 - start > long) erase.fill(1, y * w + start, y * w + lastInk + 1);
        start = -1;
      }
    }
  }
}

/** A connected piece of ink: its pixels (indices into the work image) and bounding box. */
export interface InkPiece {
  pixels: Int32Array;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Mean x of its pixels. */
  cx: number;
}

/** The 8-connected pieces of the mask, without dust, long thin lines (page edges, the binding) and what touches the scan's edge. */
export function inkPieces(mask: Uint8Array, w: number, h: number): InkPiece[] {
  const minArea = Math.max(4, (Math.max(w, h) * DUST) ** 2);
  const seen = new Uint8Array(w * h);
  const found: InkPiece[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || seen[start]) continue;
    seen[start] = 1;
    const {
      pixels,
      x0,
      x1,
      y0,
      y1,
      sumX: sx,
    } = floodRegion(w, h, start, (j) => {
      if (!mask[j] || seen[j]) return false;
      seen[j] = 1;
      return true;
    });
    // Page edges and the binding are long thin lines: a quarter of the page long and a few pixels thick.
    // (A whole column of flowing script joined into one piece is as long, but a character wide.)
    const tall = y1 - y0 + 1,
      wide = x1 - x0 + 1;
    const thin = Math.max(6, Math.max(w, h) / 150);
    const line = (tall > h / 4 && wide <= thin) || (wide > w / 4 && tall <= thin);
    // Writing never touches the edge of the scan; the rim where paper meets the scanner's background does.
    const atEdge = x0 === 0 || y0 === 0 || x1 === w - 1 || y1 === h - 1;
    if (pixels.length >= minArea && !line && !atEdge) found.push({ pixels: Int32Array.from(pixels), x0, x1: x1 + 1, y0, y1: y1 + 1, cx: sx / pixels.length });
  }
  return found;
}
