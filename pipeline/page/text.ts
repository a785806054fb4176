/**
 * A read page's text: its hiragana in reading order, a column per line, 〓 for a character not read as
 * hiragana. Browser-safe: the reader (read.ts) writes it, and the web page's Page tab writes it again
 * with the user's corrections.
 */

/** Stands for a character that is not read as hiragana. */
export const NOT_HIRAGANA = '〓';

/** The text of `columns` columns of `characters` (each with its column, in reading order within it). */
export function pageText(columns: number, characters: readonly { column: number; kind: 'hiragana' | 'other'; character: string }[]): string {
  const lines: string[] = Array.from({ length: columns }, () => '');
  for (const ch of characters) lines[ch.column] += ch.kind === 'hiragana' ? ch.character : NOT_HIRAGANA;
  return lines.join('\n');
}
