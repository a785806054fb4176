/// <reference lib="dom" />
/**
 * Recognition in the page itself, in Debian's headless Chromium: 200
 * real-sample uploads "in this page" equal POST /predict (class, and all 49
 * probabilities within 1e-3); with the network cut after load, every stroke
 * is answered in the page, p95 within 50 ms of its end; the first load stays
 * under 2 MB for the model and its runtime (bench/browser.ts measures all
 * three, as `make bench` does). The model's files are versioned: a hot
 * reload is seen by the page; and a page that cannot run the model says so
 * while the server answers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { measureInBrowser } from '../../bench/browser';
import { pointLink } from '../../pipeline/core/artifacts';
import { ARTIFACTS_DIR } from '../../pipeline/core/paths';
import { BrowserModelResponse } from '../../serve/schemas';
import { launchChromium, pageAnswer, strokeOnPad } from '../helpers/browser';
import { tempDir } from '../helpers/paths';
import { freePort, TEST_MODEL, TestService, waitFor } from '../helpers/service';

/** One stroke across the draw pad; the answer the page then records (its source, class, time). */
async function drawStroke(page: Page): Promise<{ source: string }> {
  await strokeOnPad(page, [
    [0.3, 0.3],
    [0.7, 0.6],
  ]);
  return pageAnswer(page);
}

/** Another trained network (its weights differ from the test model's): what a hot reload brings. */
const OTHER_MODEL = path.join(ARTIFACTS_DIR, 'k49net-synth-hentaigana2-vgg6-20261128');

describe('recognition in the browser', function () {
  this.timeout(300_000);
  let svc: TestService;
  let latest: string;
  const current = async () => BrowserModelResponse.parse(await (await fetch(`${svc.url}/model/browser.json`)).json());

  before(async () => {
    latest = path.join(tempDir('k49-in-browser-'), 'latest');
    await pointLink(latest, TEST_MODEL);
    svc = new TestService(await freePort(), { MODEL: latest, MODEL_POLL_MS: '200' });
    await svc.startApi();
  });
  after(() => svc?.stopAll());

  it('200 real-sample uploads in the page equal POST /predict; offline strokes answered in the page within 50 ms (p95); under 2 MB first load', async () => {
    const r = await measureInBrowser(svc.url, { images: 200, characters: 10 }, () => {});
    assert.deepEqual(r.page_errors, []);
    assert.equal(r.parity.not_in_page, 0, 'every upload answered in the page');
    assert.equal(r.parity.same_class, 200, "the server's class for every image");
    assert.ok(r.parity.max_abs_diff <= 1e-3, `probabilities within 1e-3 of the server's: ${r.parity.max_abs_diff}`);
    assert.equal(r.drawing_parity.same_class, r.drawing_parity.strokes, "a drawing's class in the page is the server's for the pad's PNG");
    assert.ok(r.drawing_parity.max_abs_diff <= 1e-3, `drawing probabilities within 1e-3: ${r.drawing_parity.max_abs_diff}`);
    assert.equal(r.strokes_offline.not_in_page, 0, 'with the network cut, every stroke answered in the page');
    assert.equal(r.strokes_offline.strokes, 30);
    assert.ok(r.strokes_offline.p95_ms <= 50, `p95 ${r.strokes_offline.p95_ms} ms after a stroke's end`);
    assert.ok(r.first_load.transfer_bytes < 2_000_000, `first load ${r.first_load.transfer_bytes} bytes for the model and runtime`);
    assert.ok(r.first_load.files.some((f) => f.file.endsWith('/weights.bin')));
  });

  it('on WebGL too (?backend=webgl; SwiftShader here): 20 uploads and a drawing equal POST /predict', async () => {
    const r = await measureInBrowser(svc.url, { images: 20, characters: 1, backend: 'webgl' }, () => {});
    assert.equal(r.backend, 'webgl');
    assert.equal(r.parity.same_class, 20);
    assert.ok(r.parity.max_abs_diff <= 1e-3, `uploads within 1e-3: ${r.parity.max_abs_diff}`);
    assert.equal(r.drawing_parity.same_class, r.drawing_parity.strokes);
    assert.ok(r.drawing_parity.max_abs_diff <= 1e-3, `drawing within 1e-3: ${r.drawing_parity.max_abs_diff}`);
  });

  it("the model's files: gzip, cached for good under the network's id; /model/browser.json is asked each time", async () => {
    const where = await current();
    const res = await fetch(`${svc.url}${where.weights}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await res.arrayBuffer()).byteLength, where.weights_bytes);
    const pointer = await fetch(`${svc.url}/model/browser.json`);
    assert.equal(pointer.headers.get('cache-control'), 'no-cache');
    const stale = await fetch(`${svc.url}/model/0123456789abcdef/weights.bin`);
    assert.equal(stale.status, 404);
    assert.match(((await stale.json()) as { detail: string }).detail, /not served any more .* ask \/model\/browser\.json/);
  });

  it('a hot reload on the server gives a new id, the old files 404, and the page loads the new network when it comes back online', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${svc.url}/`);
      await page.waitForSelector('#in-browser[data-state="ready"]', { timeout: 120_000 });
      const before = await current();
      assert.equal(await page.getAttribute('#in-browser', 'data-model-id'), before.id);
      await pointLink(latest, OTHER_MODEL);
      const after = await waitFor('the reloaded model', async () => {
        const now = await current();
        return now.id !== before.id ? now : null;
      });
      assert.equal((await fetch(`${svc.url}${before.weights}`)).status, 404);
      await context.setOffline(true);
      await context.setOffline(false);
      await page.waitForSelector(`#in-browser[data-model-id="${after.id}"]`, { timeout: 60_000 });
    } finally {
      await pointLink(latest, TEST_MODEL);
      await browser.close();
    }
  });

  it('a page opened once reopens with the network cut (its service worker) and answers a drawing in itself', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${svc.url}/`);
      await page.waitForSelector('#in-browser[data-state="ready"]');
      await page.waitForFunction(async () => {
        const cache = await caches.open('k49-offline-1');
        return (await cache.keys()).some((r) => r.url.endsWith('/weights.bin')) && (await cache.keys()).some((r) => r.url.endsWith('/ui/in-browser.js'));
      });
      await context.setOffline(true);
      await page.reload();
      await page.waitForSelector('#in-browser[data-state="ready"]', { timeout: 60_000 });
      assert.doesNotMatch((await page.textContent('#in-browser')) ?? '', /not possible/);
      const answer = await drawStroke(page);
      assert.equal(answer.source, 'page');
    } finally {
      await browser.close();
    }
  });

  it('a page that cannot run the model says so, and the server answers its drawing', async () => {
    const browser = await launchChromium();
    try {
      // No service worker: route() does not see what a worker fetches.
      const page = await (await browser.newContext({ serviceWorkers: 'block' })).newPage();
      await page.route('**/ui/in-browser.js', (route) => route.abort());
      await page.goto(`${svc.url}/`);
      await page.waitForSelector('#in-browser[data-state="failed"]');
      assert.match((await page.textContent('#in-browser')) ?? '', /cannot run the model .*the server answers/);
      const answer = await drawStroke(page);
      assert.equal(answer.source, 'server-fallback');
      assert.match((await page.textContent('#answer-source')) ?? '', /^Answered by the server in \d+ ms: /);
    } finally {
      await browser.close();
    }
  });
});
