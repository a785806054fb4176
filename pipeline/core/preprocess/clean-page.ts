/**
 * Photos and scans of a page: a character cropped with a margin sits on grey
 * or yellowed paper, lit unevenly, grainy, with bits of its neighbours at the
 * edges. cleanPage turns such a crop (ink bright) into ink on black before the
 * crop to the ink box, so paper texture and neighbours do not enlarge the box.
 */
import { floodRegion } from './flood';

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
export function selectInPlace(a: Float32Array, p: number): number {
  if (a.length === 0) return 0;
  const k = Math.min(a.length - 1, Math.floor(p * a.length));
  let lo = 0,
    hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo,
      j = hi;
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
  const gw = Math.max(1, Math.round(width / cell)),
    gh = Math.max(1, Math.round(height / cell));
  const grid = new Float32Array(gw * gh),
    clearest = new Float32Array(gw * gh);
  const cellValues = new Float32Array((Math.ceil(width / gw) + 1) * (Math.ceil(height / gh) + 1));
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const x0 = Math.floor((gx * width) / gw),
        x1 = Math.floor(((gx + 1) * width) / gw);
      const y0 = Math.floor((gy * height) / gh),
        y1 = Math.floor(((gy + 1) * height) / gh);
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
  const paperSpread = percentile(
    grid.map((g, k) => g - clearest[k]!),
    0.25,
  );
  for (let k = 0; k < grid.length; k++) grid[k] = Math.min(grid[k]!, clearest[k]! + paperSpread);
  // A cell filled by a thick stroke is not paper: cap the cells far above the others (uneven light varies smoothly).
  const middle = percentile(grid, 0.5);
  const spread =
    1.4826 *
    percentile(
      grid.map((g) => Math.abs(g - middle)),
      0.5,
    );
  for (let k = 0; k < grid.length; k++) grid[k] = Math.min(grid[k]!, middle + 3 * spread + 4);
  return interpolateGrid(grid, gw, gh, width, height);
}

/** Bilinear interpolation of a coarse grid (gw x gh values at cell centres) to every pixel of a w x h image (also the page cutter's paper level). */
export function interpolateGrid(grid: Float32Array, gw: number, gh: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * gh) / h - 0.5, 0), gh - 1);
    const y0 = Math.floor(fy),
      y1 = Math.min(y0 + 1, gh - 1),
      ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * gw) / w - 0.5, 0), gw - 1);
      const x0 = Math.floor(fx),
        x1 = Math.min(x0 + 1, gw - 1),
        tx = fx - x0;
      out[y * w + x] =
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
    const piece = pieces.length;
    label[start] = piece;
    const { pixels, x0, x1, y0, y1 } = floodRegion(width, height, start, (j) => {
      if (label[j] !== -1 || !(ink[j]! >= 128)) return false;
      label[j] = piece;
      return true;
    });
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
      const x = i % width,
        y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx,
            ny = y + dy;
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
  const deviation = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) deviation[i] = Math.abs(residual[i]!);
  const grain = 1.4826 * selectInPlace(deviation, 0.5);
  const top = percentile(residual, INK_PERCENTILE);
  const ink = new Float32Array(v.length);
  if (top - GRAIN_MULTIPLE * grain < 1) return ink;
  const floor = EDGE_MULTIPLE * grain;
  for (let i = 0; i < v.length; i++) ink[i] = Math.min(255, (255 * Math.max(0, residual[i]! - floor)) / (top - floor));
  dropEdgeFragments(ink, width, height);
  return ink;
}
