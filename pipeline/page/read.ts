/**
 * Reading a page: the page decoded (EXIF orientation applied), cut into its
 * characters (cut.ts), each character cropped with a margin as a user would
 * crop it and turned into a K49 image by the one preprocessing, all of them
 * classified in one model call, and the page's hiragana written out in
 * reading order. The API (POST /pages), `k49 read` and `k49 crops` use this.
 */
import { createHash } from 'node:crypto';
import { classById, NUM_CLASSES, topK } from '../core/classes';
import { PIXELS } from '../core/dataset';
import { type DecodeLimits, decodeRgba, PAGE_MAX_SIDE, uprightSize } from '../core/preprocess/decode';
import { characterImage } from './character-image';
import { OTHER_BELOW } from './colours';
import { type Column, type CutPage, cutPage, type PageInk, type PagePixels, pageInk } from './cut';
import { cutPageJudged, type Judge } from './judged-cut';
import { estimateSkew, turnUpright } from './skew';
import { pageText } from './text';

/** The page reader's limits: the decoder's, and how many characters a page may hold. */
export interface PageLimits extends DecodeLimits {
  maxCharacters: number;
}

/** Why a page cannot be read (an HTTP status in the API): too many characters for the limit, or no ink at all. */
export class PageReadError extends Error {
  constructor(
    readonly kind: 'too_many_characters' | 'no_ink',
    message: string,
  ) {
    super(message);
    this.name = 'PageReadError';
  }
}

export interface PageCharacter {
  box: [number, number, number, number];
  column: number;
  index: number;
  class_id: number;
  character: string;
  confidence: number;
  top_k: { class_id: number; prediction: string; confidence: number }[];
  /** 'other': a kanji, a mark or a fragment the model is unsure of (below OTHER_BELOW), or a piece too small to be a character. */
  kind: 'hiragana' | 'other';
}

export interface ReadPageResult {
  width: number;
  height: number;
  /** Degrees the page lay askew (clockwise) and was turned back before cutting; 0 if it was cut as it is. */
  skew: number;
  columns: Column[];
  characters: PageCharacter[];
  /** The hiragana in reading order, a column per line, 〓 for what is not read as hiragana. */
  text: string;
  /** The K49 image of each character (N*784 bytes), in the order of `characters`. */
  images: Uint8Array;
}

/** A box smaller than this share of the page's character size on both sides is a mark (a dot, a voicing mark), not a character. */
const MARK = 0.3;

/**
 * What a reader of the page is told (the API's and `k49 read --json`'s answer): the result without the images,
 * and the SHA-256 of the scan as sent, by which a correction of one of its characters names the page (the
 * export of corrections finds the scan by it, to check the character by place: serve/queue/feedback.ts).
 */
export function pageAnswer(result: ReadPageResult, scan: Buffer): Omit<ReadPageResult, 'images'> & { page_sha256: string } {
  const { images: _images, ...answer } = result;
  return { ...answer, page_sha256: pageSha256(scan) };
}

/** A page scan's identity: the SHA-256 of its bytes, in hexadecimal. */
export function pageSha256(scan: Buffer): string {
  return createHash('sha256').update(scan).digest('hex');
}

/** A decoded page: its pixels, at most PAGE_MAX_SIDE a side, and the size of the upright scan they were shrunk from. */
export type DecodedPage = PagePixels & { sourceWidth: number; sourceHeight: number };

/** Decodes a page for reading: RGBA at most PAGE_MAX_SIDE a side, EXIF orientation applied. */
export async function decodePage(bytes: Buffer, limits: DecodeLimits): Promise<DecodedPage> {
  const page = await decodeRgba(bytes, limits, PAGE_MAX_SIDE);
  // Only a page that reaches PAGE_MAX_SIDE may have been shrunk: the scan's own size is then read from its header.
  const source = Math.max(page.width, page.height) >= PAGE_MAX_SIDE ? await uprightSize(bytes) : page;
  return { ...page, sourceWidth: source.width, sourceHeight: source.height };
}

/**
 * A cut of the shrunk page in pixels of the scan as sent (and its character size with it): a reader
 * draws or compares the boxes on their own image, whatever size the cutter worked at.
 */
function inScanPixels(cut: CutPage, page: DecodedPage): CutPage {
  const sx = page.sourceWidth / page.width,
    sy = page.sourceHeight / page.height;
  if (sx === 1 && sy === 1) return cut;
  const span = (start: number, length: number, s: number) => [Math.round(start * s), Math.round((start + length) * s) - Math.round(start * s)] as const;
  return {
    columns: cut.columns.map((c) => {
      const [x, width] = span(c.x, c.width, sx);
      return { x, width };
    }),
    characters: cut.characters.map((ch) => {
      const [x, w] = span(ch.box[0], ch.box[2], sx),
        [y, h] = span(ch.box[1], ch.box[3], sy);
      return { ...ch, box: [x, y, w, h] };
    }),
    characterSize: Math.round(cut.characterSize * sy),
  };
}

/** Each found character cropped from the page with a margin, through the one preprocessing: N*784 bytes. */
function characterImages(page: PagePixels, cut: CutPage): Uint8Array {
  const images = new Uint8Array(cut.characters.length * PIXELS);
  cut.characters.forEach((ch, k) => {
    images.set(characterImage(page, ch.box), k * PIXELS);
  });
  return images;
}

/** A page cut and its characters cropped: the CPU-heavy half of reading, which the API runs off its event loop. */
export interface CutCharacters extends CutPage {
  width: number;
  height: number;
  /** Degrees the page lay askew (clockwise) and was turned back before cutting; 0 if it was cut as it is. */
  skew: number;
  /** The K49 image of each character (N*784 bytes). */
  images: Uint8Array;
}

/** A page turned less than this (degrees) is cut as it is: scans are square to within it, and the cutter's columns allow for it. */
const MIN_SKEW = 1.5;

/**
 * The characters of a decoded page and their K49 images; a page that lies askew (a photo held a little
 * turned) is turned upright first, so its columns stand straight and its characters upright for the model.
 * Cut with the model's judgement (judged-cut.ts) when `judge` is given, by the rules alone (cut.ts) when it
 * is null (datasets, which must not depend on the model they train).
 * Boxes are in pixels of the scan as sent; `skew` is how far it was turned (degrees, clockwise; 0 if not).
 */
export async function findCharacters(page: DecodedPage, judge: Judge | null): Promise<{ cut: CutPage; images: Uint8Array; skew: number }> {
  const cutOf = (pixels: PagePixels, ink?: PageInk) => (judge ? cutPageJudged(pixels, judge, ink) : cutPage(pixels, ink));
  const ink = pageInk(page);
  const skew = estimateSkew(ink.mask, ink.w, ink.h);
  if (Math.abs(skew) < MIN_SKEW) {
    const cut = await cutOf(page, ink);
    return { cut: inScanPixels(cut, page), images: characterImages(page, cut), skew: 0 };
  }
  const upright = await turnUpright(page, skew);
  const cut = await cutOf(upright.page);
  return { cut: inScanPixels(upright.back(cut), page), images: characterImages(upright.page, cut), skew };
}

/**
 * Cuts a decoded page with the model's judgement and crops its characters (findCharacters), refusing a page
 * with no writing or with more characters than the limit; the boxes come back in pixels of the scan as sent.
 */
export async function cutCharacters(page: DecodedPage, limits: Pick<PageLimits, 'maxCharacters'>, judge: Judge): Promise<CutCharacters> {
  const { cut, images, skew } = await findCharacters(page, judge);
  if (cut.characters.length === 0)
    throw new PageReadError('no_ink', 'no writing was found on this page: it looks blank (send a scan or photo of a page with characters)');
  if (cut.characters.length > limits.maxCharacters) {
    throw new PageReadError(
      'too_many_characters',
      `the page holds ${cut.characters.length} characters, over the limit of ${limits.maxCharacters} per page (MAX_PAGE_CHARACTERS): send a part of the page, or raise MAX_PAGE_CHARACTERS where the server runs`,
    );
  }
  return { ...cut, width: page.sourceWidth, height: page.sourceHeight, skew, images };
}

/**
 * Reads cut characters: classifies them (`probabilities`: N K49 images -> N*49 class probabilities, the
 * served model's or a K49Classifier's) and writes the text in reading order.
 */
export async function readCharacters(cut: CutCharacters, probabilities: (images: Uint8Array) => Promise<Float32Array>): Promise<ReadPageResult> {
  const { images } = cut;
  // A copy goes to the model: the served classifier transfers its input to its thread, and the images are still needed here.
  const probs = await probabilities(images.slice());
  const mark = MARK * cut.characterSize;
  const characters = cut.characters.map((ch, k): PageCharacter => {
    const candidates = topK(probs.subarray(k * NUM_CLASSES, (k + 1) * NUM_CLASSES), 5);
    const best = candidates[0]!;
    const blank = images.subarray(k * PIXELS, (k + 1) * PIXELS).every((v) => v === 0);
    const isMark = ch.box[2] < mark && ch.box[3] < mark;
    return {
      box: ch.box,
      column: ch.column,
      index: ch.index,
      class_id: best.class_id,
      character: classById(best.class_id).char,
      confidence: best.confidence,
      top_k: candidates,
      kind: blank || isMark || best.confidence < OTHER_BELOW ? 'other' : 'hiragana',
    };
  });
  return { width: cut.width, height: cut.height, skew: cut.skew, columns: cut.columns, characters, text: pageText(cut.columns.length, characters), images };
}

/** Reads a decoded page in this thread: cut, crop, classify, and the text in reading order. */
export async function readPage(
  page: DecodedPage,
  probabilities: (images: Uint8Array) => Promise<Float32Array>,
  limits: Pick<PageLimits, 'maxCharacters'>,
): Promise<ReadPageResult> {
  return readCharacters(await cutCharacters(page, limits, probabilities), probabilities);
}
