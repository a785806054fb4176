/**
 * Inputs like a character cropped from a page scan (for the tests and
 * scripts/page-crop-figures.ts): three glyphs (font
 * outlines, or real K49 images) set in a column on paper (yellowed, lit
 * unevenly, grainy), dark ink, then the
 * middle one cropped with a margin, so bits of its neighbours show at the top
 * and bottom edges. Returned as the PNG a user would upload.
 */
import { createCanvas, Path2D, type SKRSContext2D } from '@napi-rs/canvas';
import { IMAGE_SIZE, PIXELS } from '../core/dataset';
import { decodeToK49 } from '../core/preprocess';
import { inkBox } from '../core/preprocess/fit';
import { Random } from '../core/random';
import type { GlyphSource } from './fonts';

export interface PageOptions {
  /** Glyph height on the page (px). */
  size?: number;
  /** Margin around the middle glyph's box, as a share of its size (the real crops: 6 %). */
  margin?: number;
  /** Brightness change of the paper from the left edge to the right (0 = even light). */
  lightFalloff?: number;
  /** Space between the glyphs' boxes in the column, as a share of the size (negative: they overlap in height). */
  gap?: number;
  /** Grain of the paper (standard deviation of its brightness, as a share). */
  grain?: number;
  /** Ink brightness (0 = black). */
  ink?: number;
  seed?: string;
}

/** Decoding limits for the crops (generous: a page crop is small). */
export const PAGE_CROP_LIMITS = { maxPixels: 40_000_000 };

/** The pages of the tests and of scripts/page-crop-figures.ts. */
export const MODERATE_PAGE: PageOptions = { size: 56, gap: 0.02, lightFalloff: 0.35, grain: 0.04, ink: 80 };
/** Neighbours touching the margin, fainter ink, more grain. */
export const HARD_PAGE: PageOptions = { ...MODERATE_PAGE, gap: 0, grain: 0.06, ink: 100 };
/** No margin: the crop is the character's box. */
export const TIGHT_PAGE: PageOptions = { ...MODERATE_PAGE, margin: 0 };

/** Side of a cell of the column (page px): the glyph's height on the page. */
const cellSize = (opts: PageOptions) => opts.size ?? 96;

/** What is set in a cell of the column: its size in page px (longer side = the cell size) and how to draw it in ink. */
interface Piece {
  w: number;
  h: number;
  draw(ctx: SKRSContext2D, left: number, top: number, ink: string): void;
}

/** Sets `column` (3 glyphs) on a page and crops the middle one with a margin; PNG bytes. */
export function pageCrop(column: [GlyphSource, GlyphSource, GlyphSource], opts: PageOptions = {}): Buffer {
  const size = cellSize(opts);
  return cropFromPage(
    column.map((g): Piece => {
      const scale = size / Math.max(g.bbox.maxX - g.bbox.minX, g.bbox.maxY - g.bbox.minY);
      return {
        w: (g.bbox.maxX - g.bbox.minX) * scale,
        h: (g.bbox.maxY - g.bbox.minY) * scale,
        draw: (ctx, left, top, ink) => {
          ctx.save();
          ctx.fillStyle = ink;
          // Font units are y-up: flip, then move the glyph's box to (left, top).
          ctx.setTransform(scale, 0, 0, -scale, left - g.bbox.minX * scale, top + g.bbox.maxY * scale);
          ctx.fill(new Path2D(g.svgPath));
          ctx.restore();
        },
      };
    }),
    opts,
  );
}

/**
 * The same for real ink: three K49 images (28x28, white ink on black; e.g. real training images) enlarged to
 * the cell size and set as dark ink on the page, the middle one cropped with a margin; PNG bytes.
 */
export function pageCropOfImages(column: [Uint8Array, Uint8Array, Uint8Array], opts: PageOptions = {}): Buffer {
  const size = cellSize(opts);
  return cropFromPage(
    column.map(
      (image): Piece => ({
        w: size,
        h: size,
        draw: (ctx, left, top, ink) => {
          const glyph = createCanvas(IMAGE_SIZE, IMAGE_SIZE);
          const g = glyph.getContext('2d');
          g.fillStyle = ink;
          g.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
          // The image's intensity becomes the ink's coverage.
          const pixels = g.getImageData(0, 0, IMAGE_SIZE, IMAGE_SIZE);
          for (let i = 0; i < PIXELS; i++) pixels.data[i * 4 + 3] = image[i]!;
          g.putImageData(pixels, 0, 0);
          ctx.drawImage(glyph, left, top, size, size);
        },
      }),
    ),
    opts,
  );
}

/** Real ink is set 3 times its 28 px: about the size of a character in a page scan. */
const REAL_INK_CELL = 84;

/**
 * Real ink on a page: `n` K49 images taken evenly from `images` (N*784 bytes), each set between the two
 * images after it in a column, cropped and preprocessed as an upload; the originals beside their crops.
 */
export async function realInkPageCrops(images: Uint8Array, n: number, opts: PageOptions): Promise<{ originals: Uint8Array; crops: Uint8Array }> {
  const image = (i: number) => images.subarray(i * PIXELS, (i + 1) * PIXELS);
  const step = Math.floor((images.length / PIXELS - 2) / n);
  const originals = new Uint8Array(n * PIXELS),
    crops = new Uint8Array(n * PIXELS);
  for (let k = 0; k < n; k++) {
    const i = k * step;
    originals.set(image(i), k * PIXELS);
    const png = pageCropOfImages([image(i + 1), image(i), image(i + 2)], { ...opts, size: REAL_INK_CELL, seed: `real${k}` });
    crops.set(await decodeToK49(png, PAGE_CROP_LIMITS), k * PIXELS);
  }
  return { originals, crops };
}

function cropFromPage(column: Piece[], opts: PageOptions): Buffer {
  const size = cellSize(opts),
    margin = opts.margin ?? 0.06,
    falloff = opts.lightFalloff ?? 0.25,
    grain = opts.grain ?? 0.02,
    ink = opts.ink ?? 45;
  const rng = new Random(opts.seed ?? 'page');
  const gap = Math.round(size * (opts.gap ?? 0.02));
  const width = Math.round(size * 1.6),
    height = 3 * size + 4 * Math.abs(gap) + 2 * size;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  // Yellowed paper with grain.
  const paper = ctx.createImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const tone = 1 + rng.normal() * grain;
      const i = (y * width + x) * 4;
      paper.data[i] = Math.min(255, 232 * tone);
      paper.data[i + 1] = Math.min(255, 222 * tone);
      paper.data[i + 2] = Math.min(255, 190 * tone);
      paper.data[i + 3] = 255;
    }
  }
  ctx.putImageData(paper, 0, 0);
  const inkColour = `rgb(${ink}, ${Math.round(ink * 0.85)}, ${Math.round(ink * 0.7)})`;
  const boxes = column.map((piece, k) => {
    // Each piece sits at the bottom of its cell, so the one above reaches down to the middle one.
    const left = (width - piece.w) / 2,
      top = size + k * (size + gap) + (size - piece.h);
    piece.draw(ctx, left, top, inkColour);
    return { left, top, w: piece.w, h: piece.h };
  });
  // Lit from the left: the light falls on paper and ink alike, as in a photo or scan of a page.
  const page = ctx.getImageData(0, 0, width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const light = 1 - falloff * (x / width),
        i = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) page.data[i + c] = Math.round(page.data[i + c]! * light);
    }
  }
  ctx.putImageData(page, 0, 0);
  const mid = boxes[1]!;
  const m = margin * size;
  const x0 = Math.max(0, Math.floor(mid.left - m)),
    y0 = Math.max(0, Math.floor(mid.top - m));
  const x1 = Math.min(width, Math.ceil(mid.left + mid.w + m)),
    y1 = Math.min(height, Math.ceil(mid.top + mid.h + m));
  const crop = createCanvas(x1 - x0, y1 - y0);
  crop.getContext('2d').drawImage(canvas, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
  return crop.toBuffer('image/png');
}

export interface PaperOptions {
  /** Paper grey level (0..255; old paper or a dim photograph: 130). */
  paper: number;
  /** Ink grey level. */
  ink: number;
  /** Standard deviation of the paper's and ink's noise (grey levels). */
  noise: number;
  /** Enlargement of the 28x28 image's ink box. */
  scale: number;
  /** Margin around the ink box, as a share of its longer side (0: a tight crop). */
  margin: number;
  seed?: string;
}

/**
 * A K49 image (white ink on black) as a crop of a page: cropped to its ink, enlarged, drawn as dark ink on
 * uniform grey paper with noise, with a margin; grey PNG bytes.
 */
export function inkOnPaper(image: Uint8Array, opts: PaperOptions): Buffer {
  const ink = inkBox({ width: IMAGE_SIZE, height: IMAGE_SIZE, data: image });
  if (!ink) throw new Error('inkOnPaper: the image has no ink');
  const { x0, y0 } = ink;
  const bw = (ink.x1 - x0) * opts.scale,
    bh = (ink.y1 - y0) * opts.scale;
  const m = Math.round(opts.margin * Math.max(bw, bh));
  const width = bw + 2 * m,
    height = bh + 2 * m;
  const rng = new Random(opts.seed ?? 'paper');
  const out = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Nearest neighbour of the ink box, its intensity as the ink's coverage.
      const sx = Math.floor((x - m) / opts.scale) + x0,
        sy = Math.floor((y - m) / opts.scale) + y0;
      const inside = x >= m && y >= m && x < m + bw && y < m + bh;
      const coverage = inside ? image[sy * IMAGE_SIZE + sx]! / 255 : 0;
      const grey = opts.paper + coverage * (opts.ink - opts.paper) + rng.normal() * opts.noise;
      out[y * width + x] = Math.max(0, Math.min(255, Math.round(grey)));
    }
  }
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    data.data[4 * i] = data.data[4 * i + 1] = data.data[4 * i + 2] = out[i]!;
    data.data[4 * i + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
  return canvas.toBuffer('image/png');
}
