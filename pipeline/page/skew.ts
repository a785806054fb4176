/**
 * How far a page lies askew (a photo held a little turned, a scan not square): the angle at which its
 * columns of writing stand sharpest. The ink is sheared by each candidate angle and projected onto the x
 * axis; upright columns give the peakiest profile (the largest sum of squares). The reader turns a page
 * that lies askew upright before cutting it (read.ts).
 */
import sharp from 'sharp';
import type { CutPage, PagePixels } from './cut';

/** Angles tried, in degrees either way: more than a photo of a page is usually off, less than would turn columns into rows. */
const MAX_SKEW = 8;
/** Coarse step, then a fine one around the best. */
const COARSE_STEP = 0.5;
const FINE_STEP = 0.1;
/** At most this many ink pixels are projected (every k-th): the profile's shape needs no more. */
const SAMPLE = 20_000;

/** Sum of squares of the profile of the ink sheared so that writing turned clockwise by `degrees` stands upright. */
function sharpness(xs: Int32Array, ys: Int32Array, n: number, w: number, h: number, degrees: number): number {
  const t = Math.tan((degrees * Math.PI) / 180);
  const pad = Math.ceil((h / 2) * Math.abs(t)) + 1;
  const profile = new Float64Array(w + 2 * pad);
  for (let k = 0; k < n; k++) profile[Math.round(xs[k]! + (ys[k]! - h / 2) * t) + pad]!++;
  let s = 0;
  for (const v of profile) s += v * v;
  return s;
}

/**
 * The angle (degrees, clockwise as the page was turned) at which the ink mask's columns stand upright,
 * within MAX_SKEW either way; 0 for a page with too little ink to tell.
 */
export function estimateSkew(mask: Uint8Array, w: number, h: number): number {
  let total = 0;
  for (let i = 0; i < w * h; i++) total += mask[i]!;
  if (total < 100) return 0;
  const every = Math.max(1, Math.ceil(total / SAMPLE));
  const xs = new Int32Array(Math.ceil(total / every)),
    ys = new Int32Array(xs.length);
  let n = 0;
  for (let i = 0, seen = 0; i < w * h; i++) {
    if (!mask[i] || seen++ % every !== 0) continue;
    xs[n] = i % w;
    ys[n++] = Math.floor(i / w);
  }
  const best = (from: number, to: number, step: number) => {
    let at = 0,
      top = -1;
    for (let d = from; d <= to + 1e-9; d += step) {
      const s = sharpness(xs, ys, n, w, h, d);
      // Ties (a page of scattered dots) go to the smaller turn.
      if (s > top || (s === top && Math.abs(d) < Math.abs(at))) {
        top = s;
        at = d;
      }
    }
    return at;
  };
  const coarse = best(-MAX_SKEW, MAX_SKEW, COARSE_STEP);
  return Math.round(best(coarse - COARSE_STEP, coarse + COARSE_STEP, FINE_STEP) * 10) / 10;
}

/**
 * The page turned back by `skew` degrees (upright; the corners it uncovers white, as paper), and how to
 * take a cut of the upright page back onto the page as it was: each box becomes the upright box's corners
 * turned back, boxed; each column spans its characters.
 */
export async function turnUpright(page: PagePixels, skew: number): Promise<{ page: PagePixels; back: (cut: CutPage) => CutPage }> {
  const { data, info: upright } = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 4 } })
    .rotate(-skew, { background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const a = (skew * Math.PI) / 180,
    cos = Math.cos(a),
    sin = Math.sin(a);
  // Turning back about the centres (sharp turns about the centre and grows the canvas to hold the page).
  const toPage = (x: number, y: number): [number, number] => {
    const dx = x - upright.width / 2,
      dy = y - upright.height / 2;
    return [page.width / 2 + dx * cos - dy * sin, page.height / 2 + dx * sin + dy * cos];
  };
  const boxBack = ([x, y, w, h]: readonly number[]): [number, number, number, number] => {
    const corners = [toPage(x!, y!), toPage(x! + w!, y!), toPage(x!, y! + h!), toPage(x! + w!, y! + h!)];
    const x0 = Math.max(0, Math.round(Math.min(...corners.map((c) => c[0])))),
      y0 = Math.max(0, Math.round(Math.min(...corners.map((c) => c[1]))));
    const x1 = Math.min(page.width, Math.round(Math.max(...corners.map((c) => c[0])))),
      y1 = Math.min(page.height, Math.round(Math.max(...corners.map((c) => c[1]))));
    return [x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0)];
  };
  const back = (cut: CutPage): CutPage => {
    const characters = cut.characters.map((ch) => ({ ...ch, box: boxBack(ch.box) }));
    const columns = cut.columns.map((column, c) => {
      const boxes = characters.filter((ch) => ch.column === c).map((ch) => ch.box);
      // (The cutter gives no column without a character; one would keep its middle's place.)
      if (boxes.length === 0) boxes.push(boxBack([column.x, upright.height / 2, column.width, 1]));
      const x = Math.min(...boxes.map((b) => b[0]));
      return { x, width: Math.max(...boxes.map((b) => b[0] + b[2])) - x };
    });
    return { columns, characters, characterSize: cut.characterSize };
  };
  return { page: { data, width: upright.width, height: upright.height }, back };
}
