/**
 * How well a page's characters were found, against known boxes: recall and
 * precision of the boxes at an IoU threshold (each true box matched to at
 * most one found box, best overlaps first), and the share of columns read
 * in the right order. Used by the tests and the benchmark on rendered pages.
 */

type Box = readonly [number, number, number, number];

interface Placed {
  box: Box;
  column: number;
  index: number;
}

/** The area two boxes [x, y, w, h] share. */
export function overlapArea(a: Box, b: Box): number {
  const x0 = Math.max(a[0], b[0]),
    y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]),
    y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  return Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
}

function iou(a: Box, b: Box): number {
  const inter = overlapArea(a, b);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

export interface PageScore {
  truth: number;
  found: number;
  matched: number;
  recall: number;
  precision: number;
  /** Columns whose matched characters were all found in one column, in order, with the columns themselves in order. */
  columnsInOrder: number;
  columns: number;
  /** For each true character (in its order), the index of the found one matched to it, or -1. */
  match: number[];
}

/** Matches found boxes to true ones (IoU >= threshold, best first) and scores the page. */
export function scorePage(truth: readonly Placed[], found: readonly Placed[], threshold = 0.5): PageScore {
  const pairs: [number, number, number][] = [];
  truth.forEach((t, i) => {
    found.forEach((f, j) => {
      const v = iou(t.box, f.box);
      if (v >= threshold) pairs.push([v, i, j]);
    });
  });
  pairs.sort((a, b) => b[0] - a[0]);
  const match = new Array<number>(truth.length).fill(-1);
  const used = new Set<number>();
  for (const [, i, j] of pairs) {
    if (match[i] !== -1 || used.has(j)) continue;
    match[i] = j;
    used.add(j);
  }
  const matched = match.filter((j) => j >= 0).length;
  // Reading order, column by column: one found column per true column, indices increasing, found columns in the true columns' order.
  const trueColumns = [...new Set(truth.map((t) => t.column))].sort((a, b) => a - b);
  let inOrder = 0;
  let lastFoundColumn = -1;
  for (const c of trueColumns) {
    const hits = truth.map((t, i) => ({ t, j: match[i]! })).filter(({ t, j }) => t.column === c && j >= 0);
    hits.sort((a, b) => a.t.index - b.t.index);
    const columnsHit = new Set(hits.map(({ j }) => found[j]!.column));
    const increasing = hits.every(({ j }, k) => k === 0 || found[j]!.index > found[hits[k - 1]!.j]!.index);
    const column = hits.length ? found[hits[0]!.j]!.column : lastFoundColumn;
    if (hits.length > 0 && columnsHit.size === 1 && increasing && column > lastFoundColumn) inOrder++;
    lastFoundColumn = Math.max(lastFoundColumn, column);
  }
  return {
    truth: truth.length,
    found: found.length,
    matched,
    recall: truth.length ? matched / truth.length : 1,
    precision: found.length ? matched / found.length : 1,
    columnsInOrder: inOrder,
    columns: trueColumns.length,
    match,
  };
}
