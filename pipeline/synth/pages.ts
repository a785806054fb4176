/**
 * Whole rendered pages with known character boxes, for measuring the page
 * reader (pipeline/page/): vertical columns read right to left, kana of the
 * given fonts with some kanji among them, on yellowed, unevenly lit, grainy
 * paper, neighbours close enough to touch. What a scan of a classical book
 * looks like to the cutter, with the truth beside it.
 */
import { createCanvas, Path2D, type SKRSContext2D } from '@napi-rs/canvas';
import sharp from 'sharp';
import { Random } from '../core/random';
import { type FontSpec, type GlyphSource, glyphOutline, glyphSources, openFontFor } from './fonts';

/** One character set on the page: its box [x, y, w, h] in page pixels, and what it is. */
interface PageCharacter {
  box: [number, number, number, number];
  /** Column, counted from the right (reading order), and the place in it from the top. */
  column: number;
  index: number;
  kind: 'hiragana' | 'other';
  /** The K49 class of a hiragana; -1 for a kanji. */
  classId: number;
}

export interface RenderedPage {
  png: Buffer;
  width: number;
  height: number;
  characters: PageCharacter[];
}

export interface PageLayout {
  width: number;
  height: number;
  /** Character size (the longer side of a glyph's box), in page pixels. */
  size: number;
  /** The range each character's size is drawn from, as shares of `size`: a hand writes some characters much smaller than others. */
  sizeRange: [number, number];
  /** Columns on the page. */
  columns: number;
  /** Mean space between characters in a column, as a share of the size; each gap is drawn from none (touching) to twice this. */
  gap: number;
  /** Share of the characters that are kanji (kind 'other'). */
  kanjiShare: number;
  /** Brightness change of paper and ink from the left edge to the right (0 = even light). */
  lightFalloff: number;
  /** Grain of the paper (standard deviation of its brightness, as a share). */
  grain: number;
  /**
   * A printed frame around the writing and rules between the columns, as woodblock books have (匡郭,
   * 界線): the frame's stroke in page pixels (the rules' is a third of it), turned by `tilt` degrees
   * as a page lies a little askew on the scanner; null for none.
   */
  frame: { stroke: number; tilt: number; rules: boolean } | null;
  seed: string;
}

const DEFAULT_LAYOUT: PageLayout = {
  width: 1200,
  height: 1700,
  size: 84,
  sizeRange: [0.8, 1.05],
  columns: 8,
  gap: 0.06,
  kanjiShare: 0.15,
  lightFalloff: 0.3,
  grain: 0.04,
  frame: null,
  seed: 'page',
};

/** The ink of the writing and of the frame: a dark brown-black. */
const INK = 'rgb(40, 34, 28)';

/** Common kanji of classical texts (their outlines come from the same fonts as the kana). */
const KANJI = '人日月年心思見言物事時世中上下山花春秋夜君御給申侍';

interface Outline {
  svgPath: string;
  bbox: { minX: number; minY: number; maxX: number; maxY: number };
}

/** Renders a page of `fonts` (the kana and kanji each font has) with the layout given; the truth in reading order. */
export function renderPage(fonts: readonly FontSpec[], layout: Partial<PageLayout> = {}): RenderedPage {
  const L = { ...DEFAULT_LAYOUT, ...layout };
  const rng = new Random(L.seed);
  const kana: GlyphSource[] = glyphSources(fonts)
    .flat()
    .filter((g) => g.kind === 'modern');
  const kanji: Outline[] = fonts.flatMap((spec) => {
    const font = openFontFor(spec);
    return [...KANJI].flatMap((ch) => glyphOutline(font, ch.codePointAt(0)!) ?? []);
  });
  const canvas = createCanvas(L.width, L.height);
  const ctx = canvas.getContext('2d');
  const paper = ctx.createImageData(L.width, L.height);
  for (let i = 0; i < L.width * L.height; i++) {
    const tone = 1 + rng.normal() * L.grain;
    paper.data[4 * i] = Math.min(255, 232 * tone);
    paper.data[4 * i + 1] = Math.min(255, 222 * tone);
    paper.data[4 * i + 2] = Math.min(255, 190 * tone);
    paper.data[4 * i + 3] = 255;
  }
  ctx.putImageData(paper, 0, 0);
  ctx.fillStyle = INK;

  const margin = Math.round(0.08 * L.width);
  const pitch = (L.width - 2 * margin) / Math.max(1, L.columns);
  const characters: PageCharacter[] = [];
  for (let c = 0; c < L.columns; c++) {
    const centre = L.width - margin - (c + 0.5) * pitch;
    let y = Math.round(0.07 * L.height + rng.uniform(0, 0.3) * L.size);
    for (let index = 0; ; index++) {
      const isKanji = kanji.length > 0 && rng.chance(L.kanjiShare);
      const glyph: Outline & { classId: number } = isKanji ? { ...rng.pick(kanji), classId: -1 } : rng.pick(kana);
      const size = L.size * rng.uniform(L.sizeRange[0], L.sizeRange[1]);
      const gw = glyph.bbox.maxX - glyph.bbox.minX,
        gh = glyph.bbox.maxY - glyph.bbox.minY;
      const scale = size / Math.max(gw, gh);
      const w = gw * scale,
        h = gh * scale;
      if (y + h > 0.93 * L.height) break;
      const left = centre - w / 2 + rng.uniform(-0.06, 0.06) * L.size;
      ctx.save();
      ctx.setTransform(scale, 0, 0, -scale, left - glyph.bbox.minX * scale, y + glyph.bbox.maxY * scale);
      ctx.fill(new Path2D(glyph.svgPath));
      ctx.restore();
      characters.push({ box: [left, y, w, h], column: c, index, kind: isKanji ? 'other' : 'hiragana', classId: glyph.classId });
      // Gaps from none (the boxes touch) to twice the layout's.
      y += h + L.gap * L.size * rng.uniform(0, 2);
    }
  }
  if (L.frame) drawFrame(ctx, L, margin, pitch, L.frame);
  // Lit from the right: the light falls on paper and ink alike.
  const page = ctx.getImageData(0, 0, L.width, L.height);
  for (let y = 0; y < L.height; y++) {
    for (let x = 0; x < L.width; x++) {
      const light = 1 - L.lightFalloff * (1 - x / L.width);
      const i = 4 * (y * L.width + x);
      for (let k = 0; k < 3; k++) page.data[i + k] = Math.round(page.data[i + k]! * light);
    }
  }
  ctx.putImageData(page, 0, 0);
  const round = (b: number[]) => b.map((v) => Math.round(v)) as PageCharacter['box'];
  return { png: canvas.toBuffer('image/png'), width: L.width, height: L.height, characters: characters.map((ch) => ({ ...ch, box: round(ch.box) })) };
}

/** The frame around the writing area (and the rules between its columns), turned by the frame's tilt about the page's centre. */
function drawFrame(ctx: SKRSContext2D, L: PageLayout, margin: number, pitch: number, frame: NonNullable<PageLayout['frame']>): void {
  const left = margin - 0.25 * pitch,
    right = L.width - margin + 0.25 * pitch;
  const top = 0.07 * L.height - 0.2 * L.size,
    bottom = 0.93 * L.height + 0.1 * L.size;
  ctx.save();
  ctx.translate(L.width / 2, L.height / 2);
  ctx.rotate((frame.tilt * Math.PI) / 180);
  ctx.translate(-L.width / 2, -L.height / 2);
  ctx.strokeStyle = INK;
  ctx.lineWidth = frame.stroke;
  ctx.strokeRect(left, top, right - left, bottom - top);
  if (frame.rules) {
    ctx.lineWidth = Math.max(1, frame.stroke / 3);
    for (let c = 1; c < L.columns; c++) {
      const x = L.width - margin - c * pitch;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
    }
  }
  ctx.restore();
}

/**
 * A rendered page turned clockwise by `degrees` (a photo held askew), on a canvas grown to hold it, with its
 * truth boxes turned too (each the box around the turned box's corners). Worked out here apart from the
 * reader's own turning (pipeline/page/skew.ts), so that the tests compare two derivations.
 */
export async function turnRenderedPage(page: RenderedPage, degrees: number): Promise<RenderedPage> {
  const { data, info } = await sharp(page.png).rotate(degrees, { background: '#d8ccae' }).png().toBuffer({ resolveWithObject: true });
  const a = (degrees * Math.PI) / 180;
  const turn = (x: number, y: number): [number, number] => {
    const dx = x - page.width / 2,
      dy = y - page.height / 2;
    return [info.width / 2 + dx * Math.cos(a) - dy * Math.sin(a), info.height / 2 + dx * Math.sin(a) + dy * Math.cos(a)];
  };
  const characters = page.characters.map((ch) => {
    const [x, y, w, h] = ch.box;
    const corners = [turn(x, y), turn(x + w, y), turn(x, y + h), turn(x + w, y + h)];
    const x0 = Math.min(...corners.map((c) => c[0])),
      y0 = Math.min(...corners.map((c) => c[1]));
    const box = [x0, y0, Math.max(...corners.map((c) => c[0])) - x0, Math.max(...corners.map((c) => c[1])) - y0].map(Math.round);
    return { ...ch, box: box as PageCharacter['box'] };
  });
  return { png: data, width: info.width, height: info.height, characters };
}
