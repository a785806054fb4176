/**
 * The page cutter: finds the characters of a page scan of vertical writing,
 * the columns right to left and the characters in each from the top, as
 * boxes in page pixels. Rules, not a learned model: ink against the paper it
 * lies on (ink.ts), the columns from the ink's vertical profile (columns.ts),
 * the characters from each column's row profile, split and merged to the
 * character size the page shows. The page reader (read.ts), `k49 crops` and
 * the API all cut with this.
 */
import { selectInPlace } from '../core/preprocess/clean-page';
import { assignColumns, columnCentres, smooth } from './columns';
import { type InkPiece, inkMask, inkPieces, type PagePixels, workDarkness } from './ink';

export type { PagePixels };

/** A column of writing: its left edge and width in page pixels; columns are listed right to left. */
export interface Column {
  x: number;
  width: number;
}

/** A character found: its box [x, y, w, h] in page pixels, its column (from the right) and place in it (from the top). */
interface FoundCharacter {
  box: [number, number, number, number];
  column: number;
  index: number;
}

export interface CutPage {
  columns: Column[];
  characters: FoundCharacter[];
  /** The character height the page shows (page pixels): the median length of the ink runs that look like one character. */
  characterSize: number;
}

/** Runs shorter than this share of the character height are pieces of a character (こ, い, a dot)... */
const PIECE = 0.6;
/** ...and join a neighbour no further than this share away, while the two together stay within this height. */
const MAX_PIECE_GAP = 0.5;
const MERGED_HEIGHT = 1.15;
/** Runs longer than this many character heights hold several characters, touching or joined by a flowing stroke. */
const LONG_RUN = 1.4;
/** How much a cut through the thickest ink of a run costs, against a piece one character-height off. */
const CUT_WEIGHT = 2;
/** Characters are at most this many times as tall as the writing is wide (kana of one hand are close to square). */
const MAX_HEIGHT_RATIO = 1.1;

/** The width holding the middle 90 % of a column's ink: the size of its characters. */
function writingWidth(xs: Float32Array): number {
  if (xs.length === 0) return 0;
  return Math.max(1, selectInPlace(xs, 0.95) - selectInPlace(xs, 0.05) + 1);
}

/** Runs [y0, y1) of rows that hold ink, separated by rows that hold none. */
export function inkRuns(rows: Float32Array): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let y = 0; y <= rows.length; y++) {
    const ink = y < rows.length && rows[y]! > 0;
    if (ink && start < 0) start = y;
    if (!ink && start >= 0) {
      runs.push([start, y]);
      start = -1;
    }
  }
  return runs;
}

/** Rows [y0, y1) holding one character each, top to bottom, from a band's row profile and the character height. */
export function splitColumn(rows: Float32Array, height: number): [number, number][] {
  const runs = inkRuns(rows);
  // Pieces of one character (こ, い, a dot) join their nearest neighbour while the two fit in one character's height.
  for (;;) {
    let best = -1;
    for (let i = 0; i + 1 < runs.length; i++) {
      const [a, b] = runs[i]!,
        [c, d] = runs[i + 1]!;
      const fits = d - a <= MERGED_HEIGHT * height && Math.min(b - a, d - c) < PIECE * height && c - b <= MAX_PIECE_GAP * height;
      if (fits && (best < 0 || c - b < runs[best + 1]![0] - runs[best]![1])) best = i;
    }
    if (best < 0) break;
    runs.splice(best, 2, [runs[best]![0], runs[best + 1]![1]]);
  }
  // Runs of several characters (touching, or joined by flowing strokes): cut where the ink is thin, into pieces near one character tall.
  const s = smooth(rows, height / 12);
  return runs.flatMap(([a, b]) => ((b - a) / height > LONG_RUN ? cutRun(s, a, b, height) : [[a, b] as [number, number]]));
}

/**
 * The best cuts of one run into characters, by dynamic programming over the rows: each cut costs the ink
 * it crosses (against the run's thickest row), each piece its squared deviation from the character height.
 */
function cutRun(s: Float32Array, a: number, b: number, height: number): [number, number][] {
  let thickest = 1e-9;
  for (let y = a; y < b; y++) thickest = Math.max(thickest, s[y]!);
  const n = b - a;
  const cost = new Float64Array(n + 1).fill(Infinity);
  const from = new Int32Array(n + 1).fill(-1);
  cost[0] = 0;
  const shortest = Math.max(1, Math.round(0.5 * height)),
    longest = Math.round(1.6 * height);
  for (let end = 1; end <= n; end++) {
    const cutCost = end < n ? (CUT_WEIGHT * s[a + end]!) / thickest : 0;
    for (let len = shortest; len <= Math.min(longest, end); len++) {
      const start = end - len;
      if (cost[start] === Infinity) continue;
      const c = cost[start]! + ((len - height) / height) ** 2 + cutCost;
      if (c < cost[end]!) {
        cost[end] = c;
        from[end] = start;
      }
    }
  }
  if (from[n] === -1) return [[a, b]];
  const pieces: [number, number][] = [];
  for (let end = n; end > 0; end = from[end]!) pieces.unshift([a + from[end]!, a + end]);
  return pieces;
}

/**
 * The characters' height: the median length of the ink runs that look like one character (half to 1.6
 * times the writing's width), kept between the width and 1.1 times it (touching characters make long
 * runs that would inflate it).
 */
function characterHeight(runLengths: number[], width: number): number {
  const single = runLengths.filter((l) => l >= 0.5 * width && l <= 1.6 * width);
  const median = single.length >= 3 ? selectInPlace(Float32Array.from(single), 0.5) : width;
  return Math.max(width, Math.min(median, MAX_HEIGHT_RATIO * width));
}

/** A page's ink at the cutter's work size (ink.ts): the mask, its size, and the page-to-work scale. */
export interface PageInk {
  mask: Uint8Array;
  w: number;
  h: number;
  scale: number;
}

export function pageInk(page: PagePixels): PageInk {
  const { dark, w, h, scale } = workDarkness(page);
  return { mask: inkMask(dark, w, h), w, h, scale };
}

/** A page's columns as the cutter finds them (work pixels): each column's ink and row profile, and the characters' height. */
export interface PageColumns {
  w: number;
  h: number;
  scale: number;
  members: InkPiece[][];
  profiles: Float32Array[];
  /** The characters' height (work pixels); 0 on a page without columns. */
  height: number;
}

/** The columns of a page's ink, right to left, and the height of its characters. */
export function findColumns(ink: PageInk): PageColumns {
  const { mask, w, h, scale } = ink;
  const pieces = inkPieces(mask, w, h);
  const { centres, pitch } = columnCentres(pieces, w);
  const owner = assignColumns(pieces, centres, pitch);
  const members: InkPiece[][] = centres.map(() => []);
  pieces.forEach((p, k) => {
    if (owner[k]! >= 0) members[owner[k]!]!.push(p);
  });
  const xsOf = (ps: InkPiece[]) => Float32Array.from(ps.flatMap((p) => Array.from(p.pixels, (i) => i % w)));
  const widths = members.map((ps) => writingWidth(xsOf(ps))).filter((x) => x > 0);
  const width = widths.length ? selectInPlace(Float32Array.from(widths), 0.5) : 0;
  const profiles = members.map((ps) => {
    const rows = new Float32Array(h);
    for (const p of ps) for (const i of p.pixels) rows[Math.floor(i / w)]!++;
    return rows;
  });
  const height = characterHeight(
    profiles.flatMap((rows) => inkRuns(rows).map(([a, b]) => b - a)),
    width,
  );
  return { w, h, scale, members, profiles, height };
}

/** The box [x0, y0, x1, y1] (work pixels, inclusive) of column `k`'s ink in each of the row ranges [y0, y1); null where a range holds none. */
export function inkBoxes(cols: PageColumns, k: number, rowRanges: readonly (readonly [number, number])[]): ([number, number, number, number] | null)[] {
  const { w, h } = cols;
  const boxes = rowRanges.map(() => ({ x0: w, x1: -1, y0: h, y1: -1 }));
  // Row ranges may overlap (the candidates of a column): each pixel goes to every range that holds its row.
  const byRow: number[][] = Array.from({ length: h }, () => []);
  rowRanges.forEach(([y0, y1], r) => {
    for (let y = y0; y < y1; y++) byRow[y]!.push(r);
  });
  for (const p of cols.members[k]!) {
    for (const i of p.pixels) {
      const x = i % w,
        y = (i - x) / w;
      for (const r of byRow[y]!) {
        const b = boxes[r]!;
        if (x < b.x0) b.x0 = x;
        if (x > b.x1) b.x1 = x;
        if (y < b.y0) b.y0 = y;
        if (y > b.y1) b.y1 = y;
      }
    }
  }
  return boxes.map((b) => (b.x1 < 0 ? null : [b.x0, b.y0, b.x1, b.y1]));
}

/** A coordinate or length in work pixels (the page shrunk by `scale`) in page pixels. */
const toPage = (v: number, scale: number) => Math.round(v / scale);

/** A work-pixel box [x0, y0, x1, y1] (inclusive) as [x, y, w, h] in page pixels. */
export function toPageBox(b: readonly [number, number, number, number], scale: number): [number, number, number, number] {
  const bx = toPage(b[0], scale),
    by = toPage(b[1], scale);
  return [bx, by, Math.max(1, toPage(b[2] + 1, scale) - bx), Math.max(1, toPage(b[3] + 1, scale) - by)];
}

/**
 * The cut of a page from its columns and the rows [y0, y1) of each character in each column; `isCharacter`
 * may leave out an ink box (work pixels, inclusive) that is no character, and a column left with none is no column.
 */
export function assembleCut(
  cols: PageColumns,
  rowsOfColumn: readonly (readonly [number, number])[][],
  isCharacter: (box: [number, number, number, number]) => boolean = () => true,
): CutPage {
  const columns: Column[] = [];
  const characters: FoundCharacter[] = [];
  cols.members.forEach((ps, k) => {
    // Each character's box: the column's ink in its rows.
    const boxes = inkBoxes(cols, k, rowsOfColumn[k]!).filter((b): b is [number, number, number, number] => b !== null && isCharacter(b));
    if (boxes.length === 0) return;
    const column = columns.length;
    const left = toPage(Math.min(...ps.map((p) => p.x0)), cols.scale);
    columns.push({ x: left, width: toPage(Math.max(...ps.map((p) => p.x1)), cols.scale) - left });
    boxes.forEach((b, index) => {
      characters.push({ box: toPageBox(b, cols.scale), column, index });
    });
  });
  return { columns, characters, characterSize: toPage(cols.height, cols.scale) };
}

/** The characters of a page by the rules alone: columns right to left, characters top to bottom, boxes in page pixels. */
export function cutPage(page: PagePixels, ink: PageInk = pageInk(page)): CutPage {
  const cols = findColumns(ink);
  return assembleCut(
    cols,
    cols.profiles.map((rows) => (cols.height > 0 ? splitColumn(rows, cols.height) : [])),
  );
}
