/**
 * A read page's text: its hiragana in reading order, a column per line, 〓 for a character not read as
 * hiragana; and a book's: its pages in name order, a blank line between them. Browser-safe: the reader
 * (read.ts) and `k49 read` write it, and the web page's Page tab writes it again with the user's corrections.
 */

/** Stands for a character that is not read as hiragana. */
export const NOT_HIRAGANA = '〓';

/** The text of `columns` columns of `characters` (each with its column, in reading order within it). */
export function pageText(columns: number, characters: readonly { column: number; kind: 'hiragana' | 'other'; character: string }[]): string {
  const lines: string[] = Array.from({ length: columns }, () => '');
  for (const ch of characters) lines[ch.column] += ch.kind === 'hiragana' ? ch.character : NOT_HIRAGANA;
  return lines.join('\n');
}

/** A book's text: its pages' texts in order, a blank line between them (as `k49 read` prints several pages). */
export function bookText(pageTexts: readonly string[]): string {
  return pageTexts.join('\n\n');
}

/**
 * The order of a book's pages by their file names: numbers as numbers (page-2 before page-10), the rest by code
 * point; zero-padded names (200010454_00002_2.jpg) keep the plain sort's order.
 */
export function comparePageNames(a: string, b: string): number {
  const parts = (name: string) => name.match(/\d+|\D+/g) ?? [];
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i]!, pb[i]!];
    if (/^\d/.test(x) && /^\d/.test(y)) {
      // By value, as digit strings (no precision limit): fewer digits once leading zeros are gone is smaller.
      const [vx, vy] = [x.replace(/^0+/, ''), y.replace(/^0+/, '')];
      if (vx.length !== vy.length) return vx.length - vy.length;
      if (vx !== vy) return vx < vy ? -1 : 1;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length !== pb.length ? pa.length - pb.length : a < b ? -1 : a > b ? 1 : 0;
}
