/**
 * POST /pages over real HTTP: a rendered page (held-out fonts, known boxes) read in reading order, the
 * same page stored sideways with an EXIF orientation, the images the model saw, and every limit and
 * refusal with its status.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { NUM_CLASSES } from '../../pipeline/core/classes';
import { PAGE_MAX_SIDE } from '../../pipeline/core/preprocess/decode';
import { scorePage } from '../../pipeline/page/score';
import { scanFonts } from '../../pipeline/synth/fonts';
import { renderPage, turnRenderedPage } from '../../pipeline/synth/pages';
import { PageResponse } from '../../serve/schemas';
import { freePort, TestService, upload } from '../helpers/service';

const heldOut = scanFonts(['debian']).available.filter((f) => f.split === 'test');

describe('reading a page (POST /pages)', function () {
  this.timeout(180000);
  let svc: TestService;
  const page = renderPage(heldOut, { seed: 'api' });
  const post = (bytes: Buffer, name = 'page.png', query = '') => upload(`${svc.url}/pages${query}`, 'file', [{ name, bytes }]);
  const detail = async (r: Response) => ((await r.json()) as { detail: string }).detail;

  before(async () => {
    svc = new TestService(await freePort(), { MAX_PAGE_CHARACTERS: '400' });
    await svc.startApi();
  });
  after(() => svc.stopAll());

  it('finds the characters in reading order and reads them: boxes, columns right to left, top_k, kind, and the text a column per line', async () => {
    const r = await post(page.png);
    assert.equal(r.status, 200, await r.clone().text());
    const answer = PageResponse.parse(await r.json());
    assert.deepEqual([answer.width, answer.height], [page.width, page.height]);
    const s = scorePage(page.characters, answer.characters);
    assert.ok(s.recall >= 0.95 && s.precision >= 0.9, JSON.stringify({ recall: s.recall, precision: s.precision }));
    assert.equal(s.columnsInOrder, s.columns);
    for (const ch of answer.characters) {
      assert.equal(ch.top_k.length, 5);
      assert.ok(ch.class_id >= 0 && ch.class_id < NUM_CLASSES && ch.character === ch.top_k[0]!.prediction);
      assert.equal(ch.kind, ch.confidence >= 0.5 ? ch.kind : 'other');
    }
    const lines = answer.text.split('\n');
    assert.equal(lines.length, answer.columns.length);
    lines.forEach((line, c) => {
      const inColumn = answer.characters.filter((ch) => ch.column === c);
      assert.equal([...line].length, inColumn.length);
      assert.equal(line, inColumn.map((ch) => (ch.kind === 'hiragana' ? ch.character : '〓')).join(''));
    });
    // The held-out fonts' kana are read right for most of those found.
    const right = page.characters.filter((t, i) => t.kind === 'hiragana' && s.match[i]! >= 0 && answer.characters[s.match[i]!]!.class_id === t.classId).length;
    const kana = page.characters.filter((t) => t.kind === 'hiragana').length;
    assert.ok(right >= 0.8 * kana, `${right} of ${kana} kana read right`);
  });

  it('turns a page stored sideways upright by its EXIF orientation, and gives the 28x28 images on request', async () => {
    // Stored rotated a quarter turn anticlockwise, with orientation 6 (turn it clockwise to show).
    const sideways = await sharp(page.png).rotate(-90).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer();
    const [upright, turned] = [
      PageResponse.parse(await (await post(page.png)).json()),
      PageResponse.parse(await (await post(sideways, 'page.jpg', '?include_images=true')).json()),
    ];
    assert.deepEqual([turned.width, turned.height], [page.width, page.height]);
    assert.ok(Math.abs(turned.characters.length - upright.characters.length) <= 3, `${turned.characters.length} against ${upright.characters.length}`);
    assert.ok(turned.characters.every((ch) => /^data:image\/png;base64,/.test(ch.model_input_png ?? '')));
    assert.ok(upright.characters.every((ch) => ch.model_input_png === undefined));
  });

  it('gives the boxes of a scan larger than the size it reads pages at (PAGE_MAX_SIDE) in pixels of that scan', async () => {
    // A 2,400 x 3,400 scan (as real page scans are) is read at 1,694 x 2,400; the boxes must still fit the scan as sent.
    const scale = 2;
    const large = await sharp(page.png)
      .resize(page.width * scale, page.height * scale)
      .jpeg({ quality: 90 })
      .toBuffer();
    assert.ok(page.height * scale > PAGE_MAX_SIDE);
    const r = await post(large, 'page.jpg');
    assert.equal(r.status, 200, await r.clone().text());
    const answer = PageResponse.parse(await r.json());
    assert.deepEqual([answer.width, answer.height], [page.width * scale, page.height * scale]);
    const truth = page.characters.map((t) => ({ ...t, box: t.box.map((v) => v * scale) as [number, number, number, number] }));
    const s = scorePage(truth, answer.characters);
    assert.ok(s.recall >= 0.95 && s.precision >= 0.9, JSON.stringify({ recall: s.recall, precision: s.precision }));
    for (const c of answer.columns) assert.ok(c.x >= 0 && c.x + c.width <= answer.width);
  });

  it('reads a photo held askew turned upright, says how far it was turned, and gives the boxes on the photo as sent', async () => {
    const turned = await turnRenderedPage(page, -4);
    const photo = await sharp(turned.png).jpeg({ quality: 90 }).toBuffer();
    const r = await post(photo, 'photo.jpg');
    assert.equal(r.status, 200, await r.clone().text());
    const answer = PageResponse.parse(await r.json());
    assert.deepEqual([answer.width, answer.height], [turned.width, turned.height]);
    assert.ok(Math.abs(answer.skew + 4) <= 0.5, `skew ${answer.skew}`);
    const s = scorePage(turned.characters, answer.characters);
    assert.ok(s.recall >= 0.9 && s.precision >= 0.9 && s.columnsInOrder === s.columns, JSON.stringify({ recall: s.recall, precision: s.precision }));
    const straight = PageResponse.parse(await (await post(page.png)).json());
    assert.equal(straight.skew, 0);
  });

  it('refuses what it cannot read, each with its status and what to do: not an image 415, no writing 400, too many characters or pixels 413, no file 400', async () => {
    let r = await post(Buffer.from('a transcription, not a scan'), 'notes.txt');
    assert.equal(r.status, 415);
    const blank = await sharp({ create: { width: 900, height: 1200, channels: 3, background: '#e8dcc0' } })
      .png()
      .toBuffer();
    r = await post(blank);
    assert.equal(r.status, 400);
    assert.match(await detail(r), /no writing was found/);
    const dense = renderPage(heldOut, { seed: 'dense', columns: 16, size: 42 });
    r = await post(dense.png);
    assert.equal(r.status, 413);
    assert.match(await detail(r), /over the limit of 400 per page \(MAX_PAGE_CHARACTERS\).*raise MAX_PAGE_CHARACTERS/);
    const small = new TestService(await freePort(), { MAX_PIXELS: '1000000' });
    await small.startApi();
    try {
      r = await upload(`${small.url}/pages`, 'file', [{ name: 'page.png', bytes: page.png }]);
      assert.equal(r.status, 413);
      assert.match(await detail(r), /MAX_PIXELS/);
    } finally {
      await small.stopAll();
    }
    r = await fetch(`${svc.url}/pages`, { method: 'POST', body: new FormData() });
    assert.equal(r.status, 400);
    assert.match(await detail(r), /field 'file' is missing/);
  });
});
