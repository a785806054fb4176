/// <reference lib="dom" />
/** /docs renders in a real headless Chromium (Debian's), from local assets only. */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { runEda } from '../../pipeline/eda/eda';
import { REAL_SAMPLE_DIR, ROOT, tempDir } from '../helpers/paths';
import { freePort, TestService } from '../helpers/service';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const TEST_OUTPUT = path.join(ROOT, 'test-output');

describe('API docs in a browser', function () {
  this.timeout(120000);
  let svc: TestService;
  before(async () => {
    svc = new TestService(await freePort());
    await svc.startApi();
  });
  after(() => svc.stopAll());

  it('/docs renders Swagger UI with every operation, without leaving localhost', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
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
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
      const outside: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) outside.push(r.url());
      });
      await page.goto(`file://${path.join(out, 'eda.html')}`);
      await page.waitForSelector('.fig .main-svg', { timeout: 30000 });
      assert.ok((await page.$$('.fig .main-svg')).length >= 3, 'the Plotly charts were drawn');
      mkdirSync(TEST_OUTPUT, { recursive: true });
      await page.screenshot({ path: path.join(TEST_OUTPUT, 'eda-report.png'), fullPage: false });
      assert.deepEqual(outside, []);
    } finally {
      await browser.close();
    }
  });
});
