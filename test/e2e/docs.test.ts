/// <reference lib="dom" />
/** /docs renders in a real headless Chromium (Debian's), from local assets only. */
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { K49_CLASSES } from '../../pipeline/core/classes';
import { runEda } from '../../pipeline/eda/eda';
import { confusionMatrixPage } from '../../pipeline/report/plotly';
import { launchChromium, TEST_OUTPUT } from '../helpers/browser';
import { REAL_SAMPLE_DIR, tempDir } from '../helpers/paths';
import { freePort, TestService } from '../helpers/service';

describe('API docs in a browser', function () {
  this.timeout(120000);
  let svc: TestService;
  before(async () => {
    svc = new TestService(await freePort());
    await svc.startApi();
  });
  after(() => svc.stopAll());

  it('/docs renders Swagger UI with every operation, without leaving localhost', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(svc.url) && !r.url().startsWith('data:')) outside.push(r.url());
      });
      await page.goto(`${svc.url}/docs`);
      await page.waitForSelector('.opblock-summary-path', { timeout: 30000 });
      const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.replace(/\u200b/g, '').trim()));
      for (const p of ['/predict', '/batch_predict', '/tasks/{task_id}', '/health']) assert.ok(paths.includes(p), `missing ${p} in ${paths.join(', ')}`);
      mkdirSync(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'docs.png'), fullPage: false });
      assert.deepEqual(outside, []);
    } finally {
      await browser.close();
    }
  });

  it('the EDA report renders its charts offline (screenshot)', async () => {
    const out = tempDir('k49-eda-shot-');
    await runEda(REAL_SAMPLE_DIR, out, () => {});
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) outside.push(r.url());
      });
      await page.goto(`file://${path.join(out, 'eda.html')}`);
      await page.waitForSelector('.fig .main-svg', { timeout: 30000 });
      assert.ok((await page.$$('.fig .main-svg')).length >= 3, 'the Plotly charts were drawn');
      const axisTitles = await page.$$eval('.fig .ytitle', (els) => els.map((e) => e.textContent));
      assert.ok(axisTitles.includes('images'), `axis titles drawn: ${axisTitles.join(', ')}`);
      mkdirSync(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'eda-report.png'), fullPage: false });
      assert.deepEqual(outside, []);
    } finally {
      await browser.close();
    }
  });

  it('the confusion-matrix report draws its heatmap offline, and the inlined Plotly keeps it light', async () => {
    const chars = K49_CLASSES.map((c) => c.char);
    // A diagonal of 20 per class with one confusion per row, so every cell's colour is known.
    const confusion = chars.map((_, i) => chars.map((__, j) => (i === j ? 20 : j === (i + 1) % chars.length ? 5 : 0)));
    const file = path.join(tempDir('k49-confusion-'), 'confusion_matrix.html');
    writeFileSync(file, confusionMatrixPage('Confusion matrix: test', '49 classes', confusion, chars));
    assert.ok(statSync(file).size < 2_500_000, `report of ${statSync(file).size} bytes`);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      const outside: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) outside.push(r.url());
      });
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
      });
      await page.goto(`file://${file}`);
      await page.waitForSelector('.fig .heatmaplayer image', { timeout: 30000 });
      const ticks = await page.$$eval('.fig .xtick text', (els) => els.length);
      assert.equal(ticks, chars.length, 'one x tick per class');
      const axisTitles = await page.$$eval('.fig .xtitle, .fig .ytitle', (els) => els.map((e) => e.textContent));
      assert.deepEqual(axisTitles, ['predicted', 'true']);
      mkdirSync(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'confusion-report.png'), fullPage: false });
      assert.deepEqual(outside, []);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
