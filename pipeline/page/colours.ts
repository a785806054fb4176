/** The colour of a character's box by how sure the model is: one scale for `k49 read --picture` and the web page's Page tab. */

/** Below this confidence a character is read as 'other' (kanji and fragments spread their probability). */
export const OTHER_BELOW = 0.5;

/** A character the user checked: corrected, or confirmed as the model read it (the web page's Page tab). */
export const CHECKED_COLOUR = '#1565c0';

/** Green: sure (>= 0.9), amber (>= 0.7), orange (>= OTHER_BELOW); grey: not read as hiragana. */
export function confidenceColour(ch: { kind: 'hiragana' | 'other'; confidence: number }): string {
  if (ch.kind === 'other') return '#8a8a8a';
  return ch.confidence >= 0.9 ? '#2e7d32' : ch.confidence >= 0.7 ? '#f9a825' : '#ef6c00';
}
