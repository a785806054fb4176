/**
 * Fonts the synthetic K49 data is rendered from, and the glyph sources of
 * each class: the modern kana in every font, plus the Unicode hentaigana
 * (variant kana) of fonts that have them, mapped to their modern class by
 * their Unicode names. Two sets: Debian font packages (`make setup` installs
 * them) and brush, handwriting and hentaigana designs from the npm registry
 * (`@fontsource/*`, woff2 files sliced by Unicode range: a font is the set of
 * its slices). `Yuji Hentaigana Akebono` draws hentaigana at the modern
 * code points, so its glyphs count as hentaigana forms.
 *
 * Test fonts are held out of the train split, so synthetic test figures
 * measure generalisation to unseen designs, not memorised ones.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as fontkit from 'fontkit';
import { classByChar, K49_CLASSES } from '../core/classes';
import { PROJECT_ROOT } from '../core/paths';
import hentaiganaNames from './hentaigana-names.json';

type FontStyle = 'brush' | 'handwriting' | 'mincho' | 'gothic';

export type FontSet = 'debian' | 'npm';

export interface FontSpec {
  /** A font file (Debian), or the folder of an npm package's woff2 slices. */
  file: string;
  set: FontSet;
  /** The Debian or npm package that provides it. */
  package: string;
  style: FontStyle;
  split: 'train' | 'test';
  /** The font draws hentaigana at the modern kana's code points. */
  modernAsHentaigana?: boolean;
}

const F = (file: string, debianPackage: string, style: FontStyle, split: 'train' | 'test' = 'train'): FontSpec => ({
  file: `/usr/share/fonts/${file}`,
  set: 'debian',
  package: debianPackage,
  style,
  split,
});

const N = (name: string, style: FontStyle, split: 'train' | 'test' = 'train', modernAsHentaigana = false): FontSpec => ({
  file: path.join(PROJECT_ROOT, 'node_modules', '@fontsource', name, 'files'),
  set: 'npm',
  package: `@fontsource/${name}`,
  style,
  split,
  ...(modernAsHentaigana ? { modernAsHentaigana } : {}),
});

/** Near-identical variants (P/proportional twins, weight twins) are left out on purpose. */
export const FONT_CATALOGUE: readonly FontSpec[] = [
  F('truetype/kouzan-mouhitsu/KouzanBrushFontSousyo.ttf', 'fonts-kouzan-mouhitsu', 'brush'),
  F('truetype/kouzan-mouhitsu/kouzan-mouhitsu-gyosho.ttf', 'fonts-kouzan-mouhitsu', 'brush'),
  F('truetype/kouzan-mouhitsu/kouzan-mouhitsu.ttf', 'fonts-kouzan-mouhitsu', 'brush'),
  F('truetype/aoyagi-kouzan-t/AoyagiKouzanT.ttf', 'fonts-aoyagi-kouzan-t', 'brush'),
  F('truetype/aoyagi-soseki/aoyagi-soseki.ttf', 'fonts-aoyagi-soseki', 'brush', 'test'),
  F('truetype/seto/setofont.ttf', 'fonts-seto', 'handwriting'),
  F('truetype/kiloji/kiloji.ttf', 'fonts-kiloji', 'handwriting'),
  F('truetype/kiloji/kiloji_b.ttf', 'fonts-kiloji', 'handwriting'),
  F('truetype/kiloji/kiloji_d.ttf', 'fonts-kiloji', 'handwriting', 'test'),
  F('truetype/klee/KleeOne-Regular.ttf', 'fonts-klee', 'handwriting'),
  F('truetype/klee/KleeOne-SemiBold.ttf', 'fonts-klee', 'handwriting', 'test'),
  F('truetype/konatu/Konatu.ttf', 'fonts-konatu', 'handwriting'),
  F('truetype/ipamj/ipamjm.ttf', 'fonts-ipamj-mincho', 'mincho'),
  F('truetype/hanazono/HanaMinA.ttf', 'fonts-hanazono', 'mincho', 'test'),
  F('opentype/ipafont-mincho/ipam.ttf', 'fonts-ipafont-mincho', 'mincho'),
  F('opentype/ipaexfont-mincho/ipaexm.ttf', 'fonts-ipaexfont-mincho', 'mincho'),
  F('truetype/dejima-mincho/dejima-mincho-r227.ttf', 'fonts-dejima-mincho', 'mincho'),
  F('truetype/oradano-mincho/OradanoGSRR.ttf', 'fonts-oradano-mincho-gsrr', 'mincho'),
  F('truetype/sawarabi-mincho/sawarabi-mincho-medium.ttf', 'fonts-sawarabi-mincho', 'mincho', 'test'),
  F('truetype/takao-mincho/TakaoMincho.ttf', 'fonts-takao-mincho', 'mincho'),
  F('truetype/bizud-mincho/BIZUDMincho-Regular.ttf', 'fonts-morisawa-bizud-mincho', 'mincho'),
  F('truetype/horai-umefont/ume-tmo3.ttf', 'fonts-horai-umefont', 'mincho'),
  F('truetype/motoya-l-cedar/MTLc3m.ttf', 'fonts-motoya-l-cedar', 'handwriting'),
  F('opentype/noto/NotoSerifCJK-Regular.ttc', 'fonts-noto-cjk', 'mincho'),
  F('opentype/noto/NotoSerifCJK-Bold.ttc', 'fonts-noto-cjk', 'mincho', 'test'),
  F('opentype/noto/NotoSansCJK-Regular.ttc', 'fonts-noto-cjk', 'gothic'),
  F('truetype/vlgothic/VL-Gothic-Regular.ttf', 'fonts-vlgothic', 'gothic'),
  F('truetype/horai-umefont/ume-pgc4.ttf', 'fonts-horai-umefont', 'gothic', 'test'),
  F('truetype/monapo/monapo.ttf', 'fonts-monapo', 'gothic'),
  // npm (devDependencies): brush, handwriting and old-print designs; three held out for the test split.
  N('yuji-hentaigana-akebono', 'brush', 'train', true),
  // The whole Unicode hentaigana block in a second design (the other is IPAmj Mincho's).
  N('noto-serif-hentaigana', 'mincho'),
  N('yuji-syuku', 'brush'),
  N('yuji-boku', 'brush'),
  N('yuji-mai', 'brush', 'test'),
  N('zen-kurenaido', 'handwriting'),
  N('new-tegomin', 'mincho'),
  N('kaisei-tokumin', 'mincho'),
  N('kaisei-harunoumi', 'mincho', 'test'),
  N('hina-mincho', 'mincho'),
  N('zen-antique', 'mincho'),
  N('shippori-antique', 'gothic', 'test'),
];

/** The Debian packages that provide the catalogue's Debian fonts (what `make setup` installs). */
export const FONT_PACKAGES = [...new Set(FONT_CATALOGUE.filter((f) => f.set === 'debian').map((f) => f.package))];

/** Unicode names use Kunrei-shiki syllables; K49 classes follow the kana. */
const KUNREI_TO_KANA: Record<string, string> = {
  A: 'あ',
  I: 'い',
  U: 'う',
  E: 'え',
  O: 'お',
  KA: 'か',
  KI: 'き',
  KU: 'く',
  KE: 'け',
  KO: 'こ',
  SA: 'さ',
  SI: 'し',
  SU: 'す',
  SE: 'せ',
  SO: 'そ',
  TA: 'た',
  TI: 'ち',
  TU: 'つ',
  TE: 'て',
  TO: 'と',
  NA: 'な',
  NI: 'に',
  NU: 'ぬ',
  NE: 'ね',
  NO: 'の',
  HA: 'は',
  HI: 'ひ',
  HU: 'ふ',
  HE: 'へ',
  HO: 'ほ',
  MA: 'ま',
  MI: 'み',
  MU: 'む',
  ME: 'め',
  MO: 'も',
  YA: 'や',
  YU: 'ゆ',
  YO: 'よ',
  RA: 'ら',
  RI: 'り',
  RU: 'る',
  RE: 'れ',
  RO: 'ろ',
  WA: 'わ',
  WI: 'ゐ',
  WE: 'ゑ',
  WO: 'を',
};

/**
 * K49 class of a hentaigana from its Unicode name ("HENTAIGANA LETTER KA-3"
 * -> か), or null when the name gives several readings ("N-MU-MO-1"), which
 * no single class can claim.
 */
export function hentaiganaClass(unicodeName: string): number | null {
  const m = /^HENTAIGANA LETTER ([A-Z]+)-\d+$/.exec(unicodeName);
  const kana = m ? KUNREI_TO_KANA[m[1]!] : undefined;
  return kana === undefined ? null : classByChar(kana)!.index;
}

export const HENTAIGANA: readonly { codepoint: number; name: string; classId: number }[] = hentaiganaNames.letters.flatMap(([cp, name]) => {
  const classId = hentaiganaClass(name!);
  return classId === null ? [] : [{ codepoint: parseInt(cp!.slice(2), 16), name: name!, classId }];
});

export interface GlyphSource {
  classId: number;
  font: FontSpec;
  codepoint: number;
  kind: 'modern' | 'hentaigana';
  /** SVG path data of the outline, in font units (y up). */
  svgPath: string;
  bbox: { minX: number; minY: number; maxX: number; maxY: number };
}

/** What glyphSources needs of a font: a glyph per code point. */
export interface GlyphLookup {
  hasGlyphForCodePoint(codePoint: number): boolean;
  glyphForCodePoint(codePoint: number): fontkit.Glyph;
}

function openFile(file: string): fontkit.Font {
  const opened = fontkit.openSync(file);
  if ('fonts' in opened) {
    // Collections (.ttc): the Japanese member.
    return opened.fonts.find((f) => / JP$/.test(f.familyName)) ?? opened.fonts[0]!;
  }
  return opened;
}

/** An npm font: its regular (400, normal) woff2 slices, each code point looked up in the slice that has it. */
function openSlices(dir: string): GlyphLookup {
  const slices = readdirSync(dir)
    .filter((f) => /-400-normal\.woff2$/.test(f))
    .sort()
    .map((f) => openFile(path.join(dir, f)));
  if (slices.length === 0) throw new Error(`${dir} holds no regular woff2 files`);
  const sliceOf = (cp: number) => slices.find((f) => f.hasGlyphForCodePoint(cp));
  return {
    hasGlyphForCodePoint: (cp) => sliceOf(cp) !== undefined,
    glyphForCodePoint: (cp) => sliceOf(cp)!.glyphForCodePoint(cp),
  };
}

function openFont(spec: FontSpec): GlyphLookup {
  return spec.set === 'npm' ? openSlices(spec.file) : openFile(spec.file);
}

/** A glyph's outline in font units (y up), for any code point the font has (kanji on rendered pages); null when it has none. */
export function glyphOutline(font: GlyphLookup, codepoint: number): Pick<GlyphSource, 'svgPath' | 'bbox'> | null {
  if (!font.hasGlyphForCodePoint(codepoint)) return null;
  const glyph = font.glyphForCodePoint(codepoint);
  const bbox = glyph.path.bbox;
  return bbox.width > 0 && bbox.height > 0 ? { svgPath: glyph.path.toSVG(), bbox } : null;
}

/** A font opened for outline look-ups (glyphOutline). */
export function openFontFor(spec: FontSpec): GlyphLookup {
  return openFont(spec);
}

export interface FontScan {
  available: FontSpec[];
  missing: FontSpec[];
}

/** The catalogue's fonts of the given sets, split into those installed and those missing. */
export function scanFonts(sets: readonly FontSet[] = ['debian'], catalogue: readonly FontSpec[] = FONT_CATALOGUE): FontScan {
  const wanted = catalogue.filter((f) => sets.includes(f.set));
  return {
    available: wanted.filter((f) => existsSync(f.file)),
    missing: wanted.filter((f) => !existsSync(f.file)),
  };
}

/** Every glyph source per class for the given fonts (index = class id). */
export function glyphSources(fonts: readonly FontSpec[]): GlyphSource[][] {
  const perClass: GlyphSource[][] = K49_CLASSES.map(() => []);
  for (const spec of fonts) {
    const font = openFont(spec);
    const wanted = [
      ...K49_CLASSES.map((c) => ({ classId: c.index, codepoint: c.char.codePointAt(0)!, kind: 'modern' as const })),
      ...HENTAIGANA.map((h) => ({ classId: h.classId, codepoint: h.codepoint, kind: 'hentaigana' as const })),
    ];
    for (const w of wanted) {
      if (!font.hasGlyphForCodePoint(w.codepoint)) continue;
      const glyph = font.glyphForCodePoint(w.codepoint);
      const bbox = glyph.path.bbox;
      if (!(bbox.width > 0 && bbox.height > 0)) continue;
      const kind = w.kind === 'modern' && spec.modernAsHentaigana ? 'hentaigana' : w.kind;
      perClass[w.classId]!.push({ ...w, kind, font: spec, svgPath: glyph.path.toSVG(), bbox });
    }
  }
  return perClass;
}
