/** The project's CSV (pipeline/core/csv.ts): file names with commas, quotes or line breaks survive a write and a read. */
import assert from 'node:assert/strict';
import { csvLine, parseCsv } from '../../pipeline/core/csv';

describe('CSV cells', () => {
  it('quotes only the cells that need it, and reads every cell back as written', () => {
    const rows = [
      ['index', 'page', 'x'],
      [0, 'page-1.jpg', 12],
      [1, 'a, b.jpg', 3],
      [2, 'the "first" page.png', null],
      [3, 'two\nlines.png', ''],
    ];
    const text = `${rows.map(csvLine).join('\n')}\n`;
    assert.equal(csvLine(rows[1]!), '0,page-1.jpg,12', 'plain cells are written as they are');
    assert.equal(csvLine(rows[2]!), '1,"a, b.jpg",3');
    assert.equal(csvLine(rows[3]!), '2,"the ""first"" page.png",');
    assert.deepEqual(
      parseCsv(text),
      rows.map((r) => r.map((v) => (v === null ? '' : String(v)))),
    );
  });

  it('reads Windows line ends and a file without a last line break, and refuses an unclosed quote', () => {
    assert.deepEqual(parseCsv('a,b\r\n1,"x,y"'), [
      ['a', 'b'],
      ['1', 'x,y'],
    ]);
    assert.throws(() => parseCsv('a,"b\n'), /ends inside a quoted cell/);
  });
});
