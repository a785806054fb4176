/**
 * The project's CSV files (a crop set's crops.csv, the corrections' export) as RFC 4180 has them: a cell
 * holding a comma, a double quote or a line break is quoted, its quotes doubled. File names (a page scan's,
 * an upload's) are cells, and may hold any of these.
 */

/** One CSV line (no line break at its end); null is an empty cell. */
export function csvLine(cells: readonly (string | number | null)[]): string {
  return cells.map((v) => (v === null ? '' : /[",\r\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(',');
}

/** A whole CSV text as rows of cells (quoted cells may hold line breaks); a last line break ends the last row, no row after it. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (quoted) throw new Error('the CSV ends inside a quoted cell');
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}
