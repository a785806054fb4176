import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../../pipeline/core/csv';
import { PAGE_CROPS_DIR, PROJECT_ROOT } from '../../pipeline/core/paths';
import { pageScans } from '../../pipeline/page/crops';
import { bookText, comparePageNames, pageText } from '../../pipeline/page/text';

describe('page and book text', () => {
  it('writes a page a column per line, 〓 for what is not read as hiragana', () => {
    const chars = [
      { column: 1, kind: 'hiragana' as const, character: 'の' },
      { column: 0, kind: 'hiragana' as const, character: 'あ' },
      { column: 0, kind: 'other' as const, character: 'な' },
    ];
    assert.equal(pageText(2, chars), 'あ〓\nの');
    assert.equal(bookText(['あ\nい', 'う']), 'あ\nい\n\nう');
  });

  it("orders a book by page name with numbers as numbers, and the committed crop set's pages as they were cut", async () => {
    const names = ['page-10.png', 'IMG_9.jpg', 'page-2.png', 'page-1b.png', 'page-1.png', 'IMG_10.jpg', 'page-002.png', 'page-99999999999999999999.png'];
    assert.deepEqual([...names].sort(comparePageNames), [
      'IMG_9.jpg',
      'IMG_10.jpg',
      'page-1.png',
      'page-1b.png',
      'page-002.png',
      'page-2.png',
      'page-10.png',
      'page-99999999999999999999.png',
    ]);
    // The committed crop set lists its pages in the order they were cut: `k49 crops` still reads them so.
    const { pages } = JSON.parse(readFileSync(path.join(PAGE_CROPS_DIR, 'crops.json'), 'utf8')) as { pages: string };
    const rows = parseCsv(readFileSync(path.join(PAGE_CROPS_DIR, 'crops.csv'), 'utf8')).slice(1);
    const cut = [...new Set(rows.map((cells) => cells[1]!))];
    assert.equal(cut.length, 71);
    assert.deepEqual(await pageScans(path.resolve(PROJECT_ROOT, pages)), cut);
  });
});
