/**
 * The columns of a page of vertical writing: the pitch at which the ink's vertical profile repeats, the
 * column centres at its peaks, and each piece of ink given to the nearest centre, so a column may lean
 * or wander a little as handwritten and woodblock columns do.
 */
import type { InkPiece } from './ink';

/** A moving average of `values` over `radius` on each side. */
export function smooth(values: Float32Array, radius: number): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 0;
  const r = Math.max(0, Math.round(radius));
  for (let i = -r; i < values.length + r; i++) {
    if (i + r < values.length) acc += values[i + r]!;
    if (i - r - 1 >= 0) acc -= values[i - r - 1]!;
    if (i >= 0 && i < values.length) out[i] = acc / (2 * r + 1);
  }
  return out;
}

/**
 * The column pitch: the lag at which the ink's vertical profile repeats, between a 30th and a third of
 * the page width. Multiples of the pitch repeat too, so the best lag is divided down while a half or a
 * third of it repeats nearly as well.
 */
function columnPitch(profile: Float32Array): number {
  const n = profile.length;
  let mean = 0;
  for (const v of profile) mean += v;
  mean /= n;
  const centred = profile.map((v) => v - mean);
  const lo = Math.max(4, Math.round(n / 30)),
    hi = Math.round(n / 3);
  const score = new Float32Array(hi + 2);
  for (let lag = lo - 1; lag <= hi + 1; lag++) {
    let s = 0;
    for (let i = 0; i + lag < n; i++) s += centred[i]! * centred[i + lag]!;
    score[lag] = s / (n - lag);
  }
  let best = lo;
  for (let lag = lo; lag <= hi; lag++) if (score[lag]! > score[best]!) best = lag;
  // The best lag may be a multiple of the pitch: go down to a half or a third of it while that repeats nearly as well.
  for (let changed = true; changed; ) {
    changed = false;
    for (const divisor of [2, 3]) {
      const around = Math.round(best / divisor);
      let local = -1;
      for (let lag = Math.max(lo, around - 3); lag <= Math.min(hi, around + 3); lag++) if (local < 0 || score[lag]! > score[local]!) local = lag;
      if (local >= lo && score[local]! >= 0.7 * score[best]!) {
        best = local;
        changed = true;
        break;
      }
    }
  }
  return best;
}

/** Column centres (work pixels), right to left: the peaks of the ink's smoothed vertical profile, a pitch apart. */
export function columnCentres(pieces: readonly InkPiece[], w: number): { centres: number[]; pitch: number } {
  const profile = new Float32Array(w);
  for (const p of pieces) for (const i of p.pixels) profile[i % w]!++;
  const pitch = columnPitch(smooth(profile, 2));
  const s = smooth(profile, pitch / 6);
  let top = 0;
  for (const v of s) top = Math.max(top, v);
  const half = Math.max(2, Math.round(pitch / 2));
  const centres: number[] = [];
  for (let x = 0; x < w; x++) {
    // The highest point within half a pitch either side, and a real share of the busiest column.
    if (s[x]! < PEAK_SHARE * top) continue;
    let isPeak = true;
    for (let d = -half; d <= half && isPeak; d++) {
      const v = s[x + d];
      if (v !== undefined && (v > s[x]! || (v === s[x]! && d < 0))) isPeak = false;
    }
    if (isPeak) centres.push(x);
  }
  return { centres: centres.reverse(), pitch };
}

/** Each piece's column (index into `centres`), or -1 for a piece further than MAX_OFFSET pitches from every centre (margins). */
export function assignColumns(pieces: readonly InkPiece[], centres: readonly number[], pitch: number): number[] {
  return pieces.map((p) => {
    let best = -1;
    for (let c = 0; c < centres.length; c++) if (best < 0 || Math.abs(p.cx - centres[c]!) < Math.abs(p.cx - centres[best]!)) best = c;
    return best >= 0 && Math.abs(p.cx - centres[best]!) <= MAX_OFFSET * pitch ? best : -1;
  });
}

/** A column's peak must hold this share of the busiest one's ink. */
const PEAK_SHARE = 0.12;
/** Pieces further than this many pitches from every column centre belong to none (marginal notes, page edges). */
const MAX_OFFSET = 0.75;
