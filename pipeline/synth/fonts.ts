/**
 * Fonts the synthetic K49 data is rendered from (Debian packages), and the
 * glyph sources of each class: the modern kana in every font, plus the
 * Unicode hentaigana (variant kana) of fonts that have them, mapped to their
 * modern class by their Unicode names.
 *
 * Test fonts are held out of the train split, so synthetic test figures
 * measure generalisation to unseen designs, not memorised ones.
 */
import { existsSync } from 'node:fs';
import * as fontkit from 'fontkit';
import { classByChar, K49_CLASSES } from '../core/classes';
import hentaiganaNames from './hentaigana-names.json';

export type FontStyle = 'brush' | 'handwriting' | 'mincho' | 'gothic';

export interface FontSpec {
  file: string;
  debianPackage: string;
  style: FontStyle;
  split: 'train' | 'test';
}

const F = (file: string, debianPackage: string, style: FontStyle, split: 'train' | 'test' = 'train'): FontSpec => ({
  file: `/usr/share/fonts/${file}`,
  debianPackage,
  style,
  split,
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
];

/** The Debian packages that provide the catalogue (what `make setup` installs). */
export const FONT_PACKAGES = [...new Set(FONT_CATALOGUE.map((f) => f.debianPackage))];

/** Unicode names use Kunrei-shiki syllables; K49 classes follow the kana. */
const KUNREI_TO_KANA: Record<string, string> = {
  A: 'あ', I: 'い', U: 'う', E: 'え', O: 'お', KA: 'か', KI: 'き', KU: 'く', KE: 'け', KO: 'こ',
  SA: 'さ', SI: 'し', SU: 'す', SE: 'せ', SO: 'そ', TA: 'た', TI: 'ち', TU: 'つ', TE: 'て', TO: 'と',
  NA: 'な', NI: 'に', NU: 'ぬ', NE: 'ね', NO: 'の', HA: 'は', HI: 'ひ', HU: 'ふ', HE: 'へ', HO: 'ほ',
  MA: 'ま', MI: 'み', MU: 'む', ME: 'め', MO: 'も', YA: 'や', YU: 'ゆ', YO: 'よ',
  RA: 'ら', RI: 'り', RU: 'る', RE: 'れ', RO: 'ろ', WA: 'わ', WI: 'ゐ', WE: 'ゑ', WO: 'を',
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

export const HENTAIGANA: readonly { codepoint: number; name: string; classId: number }[] = hentaiganaNames.letters.flatMap(
  ([cp, name]) => {
    const classId = hentaiganaClass(name!);
    return classId === null ? [] : [{ codepoint: parseInt(cp!.slice(2), 16), name: name!, classId }];
  },
);

export interface GlyphSource {
  classId: number;
  font: FontSpec;
  codepoint: number;
  kind: 'modern' | 'hentaigana';
  /** SVG path data of the outline, in font units (y up). */
  svgPath: string;
  bbox: { minX: number; minY: number; maxX: number; maxY: number };
}

function openFont(file: string): fontkit.Font {
  const opened = fontkit.openSync(file);
  if ('fonts' in opened) {
    // Collections (.ttc): the Japanese member.
    return opened.fonts.find((f) => / JP$/.test(f.familyName)) ?? opened.fonts[0]!;
  }
  return opened;
}

export interface FontScan {
  available: FontSpec[];
  missing: FontSpec[];
}

export function scanFonts(catalogue: readonly FontSpec[] = FONT_CATALOGUE): FontScan {
  return {
    available: catalogue.filter((f) => existsSync(f.file)),
    missing: catalogue.filter((f) => !existsSync(f.file)),
  };
}

/** Every glyph source per class for the given fonts (index = class id). */
export function glyphSources(fonts: readonly FontSpec[]): GlyphSource[][] {
  const perClass: GlyphSource[][] = K49_CLASSES.map(() => []);
  for (const spec of fonts) {
    const font = openFont(spec.file);
    const wanted = [
      ...K49_CLASSES.map((c) => ({ classId: c.index, codepoint: c.char.codePointAt(0)!, kind: 'modern' as const })),
      ...HENTAIGANA.map((h) => ({ classId: h.classId, codepoint: h.codepoint, kind: 'hentaigana' as const })),
    ];
    for (const w of wanted) {
      if (!font.hasGlyphForCodePoint(w.codepoint)) continue;
      const glyph = font.glyphForCodePoint(w.codepoint);
      const bbox = glyph.path.bbox;
      if (!(bbox.width > 0 && bbox.height > 0)) continue;
      perClass[w.classId]!.push({ ...w, font: spec, svgPath: glyph.path.toSVG(), bbox });
    }
  }
  return perClass;
}
