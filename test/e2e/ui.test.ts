/// <reference lib="dom" />
/**
 * The web UI in Debian's headless Chromium (playwright-core): draw, upload,
 * batch, language, keyboard, phone width; no console errors and no request
 * leaving localhost. Screenshots go to test-output/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { realSamplePng } from '../helpers/images';
import { tempDir } from '../helpers/paths';
import { freePort, TestService, upload } from '../helpers/service';
import { CHROMIUM_ARGS, TEST_OUTPUT } from './docs.test';

describe('web UI in a browser', function () {
  this.timeout(180000);
  let svc: TestService;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const outside: string[] = [];

  before(async () => {
    svc = new TestService(await freePort());
    await svc.startApi();
    svc.startWorker();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(svc.url) && !u.startsWith('data:') && !u.startsWith('blob:')) outside.push(u);
    });
    await page.goto(svc.url + '/');
    await page.waitForFunction(() => /balanced accuracy/.test(document.getElementById('model-info')?.textContent ?? ''));
    mkdirSync(TEST_OUTPUT, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await svc?.stopAll();
  });

  it('shows the model version, what it was trained on and its accuracy, and links to /docs', async () => {
    const info = await page.textContent('#model-info');
    assert.match(info ?? '', /trained on .*images/);
    assert.equal(await page.getAttribute('a[href="/docs"]', 'href'), '/docs');
  });

  it('drawing strokes gives a prediction and five candidates', async () => {
    const box = (await page.locator('#pad').boundingBox())!;
    const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const;
    const stroke = async (points: [number, number][]) => {
      await page.mouse.move(...at(...points[0]!));
      await page.mouse.down();
      for (const p of points.slice(1)) await page.mouse.move(...at(...p), { steps: 6 });
      await page.mouse.up();
    };
    await stroke([[0.3, 0.25], [0.7, 0.3]]);
    await stroke([[0.5, 0.15], [0.45, 0.5], [0.55, 0.85]]);
    await stroke([[0.3, 0.6], [0.5, 0.45], [0.75, 0.6], [0.6, 0.8], [0.35, 0.75]]);
    await page.waitForFunction(() => document.querySelectorAll('#candidates li').length === 5);
    assert.ok(((await page.textContent('#answer-char')) ?? '').length === 1);
    const seen = await page.getAttribute('#model-input', 'src');
    assert.match(seen ?? '', /^data:image\/png;base64,/);
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'ui-desktop.png'), fullPage: true });
  });

  it('an uploaded real sample PNG gets the prediction the API gives for it', async () => {
    const bytes = await realSamplePng(12);
    const file = path.join(tempDir('k49-ui-'), 'sample-12.png');
    writeFileSync(file, bytes);
    const api = (await (await upload(`${svc.url}/predict`, 'file', [{ name: 'sample-12.png', bytes }])).json()) as { prediction: string };
    await page.click('#tab-upload');
    await page.setInputFiles('#file', file);
    await page.waitForFunction((p) => document.getElementById('answer-char')?.textContent === p, api.prediction);
    assert.equal(await page.textContent('#answer-char'), api.prediction);
  });

  it('a batch of 20 files ends in a complete results table with downloads', async () => {
    const dir = tempDir('k49-ui-batch-');
    const files: string[] = [];
    for (let i = 0; i < 20; i++) {
      const f = path.join(dir, `img-${String(i).padStart(2, '0')}.png`);
      writeFileSync(f, await realSamplePng(100 + i));
      files.push(f);
    }
    await page.click('#tab-batch');
    await page.setInputFiles('#batch-files', files);
    await page.click('#batch-send');
    await page.waitForFunction(() => document.querySelectorAll('#batch-table tbody tr').length === 20, undefined, { timeout: 60000 });
    const rows = await page.$$eval('#batch-table tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    rows.forEach((r, i) => {
      assert.equal(r[1], `img-${String(i).padStart(2, '0')}.png`);
      assert.equal(r[2]!.length, 1);
      assert.match(r[3]!, /%$/);
    });
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    assert.equal(csv.suggestedFilename(), 'k49-results.csv');
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'ui-desktop-batch.png'), fullPage: true });
  });

  it('switches to Japanese and back, and the tabs work from the keyboard', async () => {
    await page.click('#lang-toggle');
    assert.equal(await page.textContent('h1'), 'くずし字ひらがな認識');
    await page.click('#lang-toggle');
    assert.equal(await page.textContent('h1'), 'Kuzushiji hiragana recognition');
    await page.focus('#tab-batch');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('#tab-upload', 'aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-upload');
  });

  it('fits a 375 px wide phone screen', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.click('#tab-draw');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: path.join(TEST_OUTPUT, 'ui-375.png'), fullPage: true });
  });

  it('had no console errors and made no request outside localhost', () => {
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(outside, []);
  });
});
