/**
 * 8-connected flood fill over an image's pixel indices, shared by the crop
 * clean-up (clean-page.ts) and the page reader's ink mask and ink pieces
 * (pipeline/page/ink.ts).
 */

/**
 * Visits the 8-connected region grown from `start` (which the caller has
 * already marked as taken): `take(j)` says whether neighbour j joins, and
 * marks it so when it does; `visit` sees each pixel of the region once.
 */
export function floodFill(width: number, height: number, start: number, take: (j: number) => boolean, visit?: (i: number, x: number, y: number) => void): void {
  const stack = [start];
  while (stack.length > 0) {
    const i = stack.pop()!;
    const x = i % width,
      y = (i - x) / width;
    visit?.(i, x, y);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx,
          ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const j = ny * width + nx;
        if (take(j)) stack.push(j);
      }
    }
  }
}

/** A region's pixels (in visiting order), its bounding box (inclusive) and the sum of its pixels' x. */
export interface Region {
  pixels: number[];
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  sumX: number;
}

/** The region grown from `start` (already marked as taken) by floodFill, with its pixels and bounding box. */
export function floodRegion(width: number, height: number, start: number, take: (j: number) => boolean): Region {
  const r: Region = { pixels: [], x0: width, x1: -1, y0: height, y1: -1, sumX: 0 };
  floodFill(width, height, start, take, (i, x, y) => {
    r.pixels.push(i);
    if (x < r.x0) r.x0 = x;
    if (x > r.x1) r.x1 = x;
    if (y < r.y0) r.y0 = y;
    if (y > r.y1) r.y1 = y;
    r.sumX += x;
  });
  return r;
}
