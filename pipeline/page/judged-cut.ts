/**
 * The page cutter with the model's judgement: where the rules alone (cut.ts) must guess from the ink's row
 * profile whether two touching pieces are one character or two, this asks the model. Each column's
 * candidate cuts (its gaps, the dips of its ink, the rows where touching pieces meet, and the rules' own cuts) give candidate pieces; every piece is cropped
 * and classified; a dynamic programme picks the pieces that read most surely as characters of a likely
 * size, across cuts through little ink. A hand's characters vary in size (a small し beside a large な),
 * which the rules' one character height cannot follow. The page reader (read.ts) cuts with this; datasets
 * (`k49 crops`) are cut by the rules, so that they do not depend on the model they will train.
 */
import sharp from 'sharp';
import { NUM_CLASSES } from '../core/classes';
import { PIXELS } from '../core/dataset';
import { characterImage } from './character-image';
import { smooth } from './columns';
import {
  assembleCut,
  type CutPage,
  findColumns,
  inkBoxes,
  inkRuns,
  type PageColumns,
  type PageInk,
  type PagePixels,
  pageInk,
  splitColumn,
  toPageBox,
} from './cut';
import type { InkPiece } from './ink';

/** The model, as the cutter uses it: N K49 images in, N*49 class probabilities out. */
export type Judge = (images: Uint8Array) => Promise<Float32Array>;

/** A row inside the ink is a candidate cut where the smoothed profile is lowest within this share of the character height either side... */
const DIP_WINDOW = 1 / 8;
/** ...under this share of the column's thickest row... */
const DIP_DEPTH = 0.7;
/** ...and under this share of the ink on both sides of it within half a character height (a dip, not a ripple in a stroke). */
const DIP_PROMINENCE = 0.75;
/** Candidate pieces up to this many character heights (a piece between two neighbouring cuts is always one)... */
const LONGEST = 1.4;
/**
 * ...or up to this many if narrow, covering no more than a square LONGEST high: a long き or す with the tails
 * of its joining strokes. Every piece this tall would cost a third more judging, most of it on wide pieces.
 */
const LONGEST_NARROW = 1.8;
/** Whether a piece `wide` x `tall` is a candidate, for characters `height` tall (any one unit). */
export function isCandidatePiece(wide: number, tall: number, height: number): boolean {
  return tall <= LONGEST * height || (tall <= LONGEST_NARROW * height && wide * tall <= (LONGEST * height) ** 2);
}
/** Each piece's score: this, plus the log of the model's top probability, less its size and cut costs (more pieces win only if each reads surely). */
const PIECE_BONUS = 0.5;
/** Pieces under this share of the character height are fragments (a dot, a stroke): a steep cost. */
const FRAGMENT = 0.3;
/** ...and are not shown to the model: they count as read this surely. */
const FRAGMENT_PROBABILITY = 0.1;
/** Pieces under this share, or over TALL, cost the squared distance, times SIZE_WEIGHT (SMALL's as a share of it). */
const SMALL = 0.6;
const TALL = 1.0;
const SIZE_WEIGHT = 4;
/** A cut costs this times the ink it crosses, against the column's thickest row (a cut through a gap costs nothing). */
const CUT_INK_WEIGHT = 2;
/**
 * A piece more than RULE_LINE_RATIO times as wide as it is tall, and either flatter than RULE_LINE of the
 * character height or wider than RULE_LINE_WIDTH character heights, is a piece of a ruled line or of the
 * page's frame (a corner), left out: the model reads such a line as へ, surely. A flat へ of real pages
 * is as flat, but from a quarter of a character tall and at most 1.7 wide.
 */
const RULE_LINE = 0.15;
const RULE_LINE_WIDTH = 2;
const RULE_LINE_RATIO = 3;
/** Whether a piece `wide` x `tall` is a piece of a frame's or a rule's line, for characters `height` tall (any one unit). */
export function isFrameLine(wide: number, tall: number, height: number): boolean {
  return wide > RULE_LINE_RATIO * tall && (tall < RULE_LINE * height || wide > RULE_LINE_WIDTH * height);
}
/**
 * Candidate pieces are cropped from a copy of the page shrunk so that its characters are about this many
 * pixels tall (the model's input is 28): the crops' preprocessing is most of the cutter's cost.
 */
const JUDGE_HEIGHT = 28;
/**
 * Candidates go to the model in parts of this many: the served model answers in turn, so a /predict sent
 * while a large page is being cut waits for one part (about 0.1 s), not for the whole page's thousands.
 */
const JUDGE_PART = 512;

/** What a piece's size costs: steep under FRAGMENT, squared outside [SMALL, TALL]; `len` in character heights. */
function sizeCost(len: number): number {
  if (len < FRAGMENT) return (4 * (FRAGMENT - len)) / FRAGMENT + 1;
  return (len > TALL ? SIZE_WEIGHT * (len - TALL) ** 2 : 0) + (len < SMALL ? SIZE_WEIGHT * ((SMALL - len) / SMALL) ** 2 : 0);
}

interface ColumnPlan {
  /** Candidate cut rows, top to bottom: the first ink row, the middle of each gap, the dips, the rules' cuts, where touching pieces meet, the row after the last ink. */
  cuts: number[];
  /** Candidate pieces: between cuts i and j, the ink's box (work pixels, inclusive) and its height in character heights. */
  pieces: { i: number; j: number; box: [number, number, number, number]; len: number }[];
  /** Ink crossed by a cut at each candidate (0 for a gap), against the thickest row. */
  cutInk: number[];
}

/**
 * The rows of a column where two characters touch without joining: one piece of ink (at least FRAGMENT of a
 * character tall) ends on the row where the next begins, so the row profile shows no gap there and often no dip.
 * No piece spans such a row, so a cut there crosses no stroke, as in a gap. Rows of a gap are left out (the gap
 * has its own cut). `pieces` in work-pixel rows (y1 exclusive), `rows` the column's ink per row, `height` the characters'.
 */
export function touchingRows(pieces: readonly Pick<InkPiece, 'y0' | 'y1'>[], rows: ArrayLike<number>, height: number): number[] {
  const found = new Set<number>();
  for (const piece of pieces) {
    if (piece.y1 - piece.y0 < FRAGMENT * height) continue;
    for (const y of [piece.y0, piece.y1]) {
      if (!rows[y - 1] || !rows[y] || pieces.some((q) => q.y0 < y && q.y1 > y)) continue;
      found.add(y);
    }
  }
  return [...found];
}

/** A column's candidate cuts and pieces (none for a column without ink, or a page without a character height). */
function planColumn(cols: PageColumns, k: number): ColumnPlan {
  const rows = cols.profiles[k]!,
    H = cols.height;
  const runs = inkRuns(rows);
  if (runs.length === 0 || H <= 0) return { cuts: [], pieces: [], cutInk: [] };
  const s = smooth(rows, H / 12);
  const first = runs[0]![0],
    last = runs[runs.length - 1]![1] - 1;
  let thickest = 1e-9;
  for (let y = first; y <= last; y++) thickest = Math.max(thickest, s[y]!);
  let cuts = [first],
    cutInk = [0];
  const window = Math.max(1, Math.round(H * DIP_WINDOW)),
    reach = Math.round(H / 2);
  runs.forEach(([a, b], r) => {
    // The middle of the gap before each run after the first.
    if (r > 0) {
      cuts.push(Math.round((runs[r - 1]![1] + a) / 2));
      cutInk.push(0);
    }
    for (let y = a + 1; y < Math.min(b, last); y++) {
      if (s[y]! >= DIP_DEPTH * thickest) continue;
      let left = 0,
        right = 0;
      for (let d = 1; d <= reach; d++) {
        if (y - d >= 0) left = Math.max(left, s[y - d]!);
        if (y + d < s.length) right = Math.max(right, s[y + d]!);
      }
      if (s[y]! > DIP_PROMINENCE * Math.min(left, right)) continue;
      let lowest = true;
      for (let d = -window; d <= window && lowest; d++) if (d && y + d >= 0 && y + d < s.length && s[y + d]! < s[y]!) lowest = false;
      if (lowest) {
        cuts.push(y);
        cutInk.push(s[y]! / thickest);
      }
    }
  });
  // The rules' own cuts through ink (cut.ts: long runs cut where thin, near one character tall) are candidates
  // too, so a long flowing stroke without a clear dip is still cut, and the rules' reading is always a path.
  for (const [y0] of splitColumn(rows, H)) {
    if (y0 > first && rows[y0 - 1] && rows[y0] && !cuts.includes(y0)) {
      cuts.push(y0);
      cutInk.push(s[y0]! / thickest);
    }
  }
  for (const y of touchingRows(cols.members[k]!, rows, H)) {
    if (y > first && y <= last && !cuts.includes(y)) {
      cuts.push(y);
      cutInk.push(0);
    }
  }
  cuts.push(last + 1);
  cutInk.push(0);
  // In row order, each cut with its ink.
  const order = cuts.map((_, k) => k).sort((a, b) => cuts[a]! - cuts[b]!);
  [cuts, cutInk] = [order.map((k) => cuts[k]!), order.map((k) => cutInk[k]!)];
  const spans: [number, number][] = [],
    ij: [number, number][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    for (let j = i + 1; j < cuts.length && (j === i + 1 || cuts[j]! - cuts[i]! <= 2 * LONGEST * H); j++) {
      spans.push([cuts[i]!, cuts[j]!]);
      ij.push([i, j]);
    }
  }
  const pieces: ColumnPlan['pieces'] = [];
  inkBoxes(cols, k, spans).forEach((box, n) => {
    if (!box) return;
    const [wide, tall] = [box[2] - box[0] + 1, box[3] - box[1] + 1];
    if (isCandidatePiece(wide, tall, H) || ij[n]![1] === ij[n]![0] + 1) pieces.push({ i: ij[n]![0], j: ij[n]![1], box, len: tall / H });
  });
  return { cuts, pieces, cutInk };
}

/** The rows [y0, y1) of each character of a planned column: the best-scoring pieces from its first cut to its last. */
function choosePieces(plan: ColumnPlan, topProbability: (piece: number) => number): [number, number][] {
  const n = plan.cuts.length;
  if (n < 2) return [];
  const best = new Float64Array(n).fill(-Infinity),
    from = new Int32Array(n).fill(-1);
  best[0] = 0;
  const endingAt: number[][] = plan.cuts.map(() => []);
  plan.pieces.forEach((p, k) => {
    endingAt[p.j]!.push(k);
  });
  for (let j = 1; j < n; j++) {
    for (const k of endingAt[j]!) {
      const p = plan.pieces[k]!;
      if (best[p.i] === -Infinity) continue;
      const cut = j < n - 1 ? CUT_INK_WEIGHT * plan.cutInk[j]! : 0;
      const score = best[p.i]! + PIECE_BONUS + Math.log(topProbability(k) + 1e-3) - sizeCost(p.len) - cut;
      if (score > best[j]!) {
        best[j] = score;
        from[j] = k;
      }
    }
  }
  // Every span between neighbouring cuts holds ink, so each cut is reached: walk back from the last.
  const rows: [number, number][] = [];
  for (let j = n - 1; j > 0; ) {
    const p = plan.pieces[from[j]!]!;
    rows.unshift([plan.cuts[p.i]!, plan.cuts[p.j]!]);
    j = p.i;
  }
  return rows;
}

/** The page's pixels shrunk so that its characters are about JUDGE_HEIGHT tall (never enlarged), and the factor from page pixels to them. */
async function judgeCopy(page: PagePixels, characterHeight: number): Promise<{ copy: PagePixels; factor: number }> {
  const factor = Math.min(1, JUDGE_HEIGHT / characterHeight);
  if (factor === 1) return { copy: page, factor };
  const width = Math.max(1, Math.round(page.width * factor)),
    height = Math.max(1, Math.round(page.height * factor));
  const data = await sharp(page.data, { raw: { width: page.width, height: page.height, channels: 4 } })
    .resize(width, height)
    .raw()
    .toBuffer();
  return { copy: { data, width, height }, factor };
}

/** The characters of a page, the columns' cuts chosen with the model: columns right to left, characters top to bottom, boxes in page pixels. */
export async function cutPageJudged(page: PagePixels, judge: Judge, ink: PageInk = pageInk(page)): Promise<CutPage> {
  const cols = findColumns(ink);
  const plans = cols.members.map((_, k) => planColumn(cols, k));
  const { copy, factor } = await judgeCopy(page, cols.height / cols.scale);
  const judged = (piece: ColumnPlan['pieces'][number]) => piece.len >= FRAGMENT;
  const count = plans.reduce((n, p) => n + p.pieces.filter(judged).length, 0);
  const images = new Uint8Array(count * PIXELS);
  let n = 0;
  for (const plan of plans) {
    for (const piece of plan.pieces) {
      if (!judged(piece)) continue;
      const [x, y, w, h] = toPageBox(piece.box, cols.scale);
      const box: [number, number, number, number] = [
        Math.round(x * factor),
        Math.round(y * factor),
        Math.max(1, Math.round(w * factor)),
        Math.max(1, Math.round(h * factor)),
      ];
      images.set(characterImage(copy, box), n++ * PIXELS);
    }
  }
  const probabilities = new Float32Array(count * NUM_CLASSES);
  for (let start = 0; start < count; start += JUDGE_PART) {
    const end = Math.min(count, start + JUDGE_PART);
    probabilities.set(await judge(images.slice(start * PIXELS, end * PIXELS)), start * NUM_CLASSES);
  }
  let offset = 0;
  const rowsOfColumn = plans.map((plan) => {
    const at = plan.pieces.map((piece) => (judged(piece) ? offset++ : -1));
    return choosePieces(plan, (k) => {
      if (at[k]! < 0) return FRAGMENT_PROBABILITY;
      let top = 0;
      for (let c = 0; c < NUM_CLASSES; c++) top = Math.max(top, probabilities[at[k]! * NUM_CLASSES + c]!);
      return top;
    });
  });
  return assembleCut(cols, rowsOfColumn, ([x0, y0, x1, y1]) => !isFrameLine(x1 - x0 + 1, y1 - y0 + 1, cols.height));
}
