/**
 * The 49 Kuzushiji-49 classes: the one source of truth for class ids,
 * code points and characters. Everything else (data loading, training,
 * evaluation, the API and the UI) imports from here.
 * Checked by test/pipeline/classes.test.ts against the official k49_classmap.csv.
 */

export interface K49Class {
  /** Class id as used in the official label files (0..48). */
  readonly index: number;
  /** Unicode code point, written as in the official class map (e.g. 'U+3042'). */
  readonly codepoint: string;
  /** The modern hiragana character. */
  readonly char: string;
  /** Hepburn romanisation, for people who do not read kana. */
  readonly romaji: string;
}

export const K49_CLASSES: readonly K49Class[] = Object.freeze([
  { index: 0, codepoint: 'U+3042', char: 'あ', romaji: 'a' },
  { index: 1, codepoint: 'U+3044', char: 'い', romaji: 'i' },
  { index: 2, codepoint: 'U+3046', char: 'う', romaji: 'u' },
  { index: 3, codepoint: 'U+3048', char: 'え', romaji: 'e' },
  { index: 4, codepoint: 'U+304A', char: 'お', romaji: 'o' },
  { index: 5, codepoint: 'U+304B', char: 'か', romaji: 'ka' },
  { index: 6, codepoint: 'U+304D', char: 'き', romaji: 'ki' },
  { index: 7, codepoint: 'U+304F', char: 'く', romaji: 'ku' },
  { index: 8, codepoint: 'U+3051', char: 'け', romaji: 'ke' },
  { index: 9, codepoint: 'U+3053', char: 'こ', romaji: 'ko' },
  { index: 10, codepoint: 'U+3055', char: 'さ', romaji: 'sa' },
  { index: 11, codepoint: 'U+3057', char: 'し', romaji: 'shi' },
  { index: 12, codepoint: 'U+3059', char: 'す', romaji: 'su' },
  { index: 13, codepoint: 'U+305B', char: 'せ', romaji: 'se' },
  { index: 14, codepoint: 'U+305D', char: 'そ', romaji: 'so' },
  { index: 15, codepoint: 'U+305F', char: 'た', romaji: 'ta' },
  { index: 16, codepoint: 'U+3061', char: 'ち', romaji: 'chi' },
  { index: 17, codepoint: 'U+3064', char: 'つ', romaji: 'tsu' },
  { index: 18, codepoint: 'U+3066', char: 'て', romaji: 'te' },
  { index: 19, codepoint: 'U+3068', char: 'と', romaji: 'to' },
  { index: 20, codepoint: 'U+306A', char: 'な', romaji: 'na' },
  { index: 21, codepoint: 'U+306B', char: 'に', romaji: 'ni' },
  { index: 22, codepoint: 'U+306C', char: 'ぬ', romaji: 'nu' },
  { index: 23, codepoint: 'U+306D', char: 'ね', romaji: 'ne' },
  { index: 24, codepoint: 'U+306E', char: 'の', romaji: 'no' },
  { index: 25, codepoint: 'U+306F', char: 'は', romaji: 'ha' },
  { index: 26, codepoint: 'U+3072', char: 'ひ', romaji: 'hi' },
  { index: 27, codepoint: 'U+3075', char: 'ふ', romaji: 'fu' },
  { index: 28, codepoint: 'U+3078', char: 'へ', romaji: 'he' },
  { index: 29, codepoint: 'U+307B', char: 'ほ', romaji: 'ho' },
  { index: 30, codepoint: 'U+307E', char: 'ま', romaji: 'ma' },
  { index: 31, codepoint: 'U+307F', char: 'み', romaji: 'mi' },
  { index: 32, codepoint: 'U+3080', char: 'む', romaji: 'mu' },
  { index: 33, codepoint: 'U+3081', char: 'め', romaji: 'me' },
  { index: 34, codepoint: 'U+3082', char: 'も', romaji: 'mo' },
  { index: 35, codepoint: 'U+3084', char: 'や', romaji: 'ya' },
  { index: 36, codepoint: 'U+3086', char: 'ゆ', romaji: 'yu' },
  { index: 37, codepoint: 'U+3088', char: 'よ', romaji: 'yo' },
  { index: 38, codepoint: 'U+3089', char: 'ら', romaji: 'ra' },
  { index: 39, codepoint: 'U+308A', char: 'り', romaji: 'ri' },
  { index: 40, codepoint: 'U+308B', char: 'る', romaji: 'ru' },
  { index: 41, codepoint: 'U+308C', char: 'れ', romaji: 're' },
  { index: 42, codepoint: 'U+308D', char: 'ろ', romaji: 'ro' },
  { index: 43, codepoint: 'U+308F', char: 'わ', romaji: 'wa' },
  { index: 44, codepoint: 'U+3090', char: 'ゐ', romaji: 'wi' },
  { index: 45, codepoint: 'U+3091', char: 'ゑ', romaji: 'we' },
  { index: 46, codepoint: 'U+3092', char: 'を', romaji: 'wo' },
  { index: 47, codepoint: 'U+3093', char: 'ん', romaji: 'n' },
  { index: 48, codepoint: 'U+309D', char: 'ゝ', romaji: 'iteration mark' },
]);

export const NUM_CLASSES = K49_CLASSES.length; // 49

const byChar = new Map(K49_CLASSES.map((c) => [c.char, c]));

export function classById(index: number): K49Class {
  const c = K49_CLASSES[index];
  if (!Number.isInteger(index) || c === undefined) {
    throw new RangeError(`class id ${index} is out of range 0..${NUM_CLASSES - 1}`);
  }
  return c;
}

export function classByChar(char: string): K49Class | undefined {
  return byChar.get(char);
}

/** The class map in the official CSV layout (header + one line per class). */
export function classMapCsv(): string {
  const lines = K49_CLASSES.map((c) => `${c.index},${c.codepoint},${c.char}`);
  return `${['index,codepoint,char', ...lines].join('\n')}\n`;
}

/** One candidate of an answer: the class, its character and its probability. */
export interface Prediction {
  class_id: number;
  prediction: string;
  confidence: number;
}

/** The k most probable classes of one image's 49 probabilities, best first (the one top-k of the system; its first is bestClasses'). */
export function topK(probs: Float32Array, k: number): Prediction[] {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  return order.slice(0, k).map((c) => ({ class_id: c, prediction: K49_CLASSES[c]!.char, confidence: probs[c]! }));
}
