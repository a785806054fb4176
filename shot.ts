import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './test/helpers/browser';
import { realSamplePng } from './test/helpers/images';
import { freePort, TestService } from './test/helpers/service';

(async () => {
  const svc = new TestService(await freePort());
  await svc.startApi();
  svc.startWorker();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${svc.url}/`);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/work/shots/top.png' });
  // batch with a text file and a broken png
  mkdirSync('/tmp/bf', { recursive: true });
  const files = [] as string[];
  for (let i = 0; i < 4; i++) {
    writeFileSync(`/tmp/bf/img-${i}.png`, await realSamplePng(i));
    files.push(`/tmp/bf/img-${i}.png`);
  }
  writeFileSync('/tmp/bf/broken.png', Buffer.from('not really a png'));
  files.push('/tmp/bf/broken.png');
  await page.click('#tab-batch');
  await page.setInputFiles('#batch-files', files);
  await page.click('#batch-send');
  await page.waitForSelector('#batch-table:not([hidden])');
  await page.waitForTimeout(800);
  await page.screenshot({ path: '/work/shots/batch-en.png', fullPage: true });
  await page.click('#lang-toggle');
  await page.waitForTimeout(300);
  await page.screenshot({ path: '/work/shots/batch-ja.png', fullPage: true });
  await page.click('#lang-toggle');
  await page.click('#tab-upload');
  writeFileSync('/tmp/bf/notes.txt', 'hello');
  await page.setInputFiles('#file', '/tmp/bf/notes.txt');
  await page.waitForTimeout(800);
  await page.screenshot({ path: '/work/shots/upload-text.png', fullPage: true });
  await page.setInputFiles('#file', files[0]!);
  await page.waitForTimeout(800);
  await page.click('#wrong');
  await page.waitForTimeout(300);
  await page.screenshot({ path: '/work/shots/picker.png', fullPage: false });
  await page.setViewportSize({ width: 375, height: 700 });
  await page.screenshot({ path: '/work/shots/picker-375.png', fullPage: true });
  await browser.close();
  await svc.stopAll();
})();
