/**
 * In-browser recognition measured in Debian's headless Chromium (never a
 * downloaded browser), against a running service: what the page's first load
 * transfers for the model and its runtime; real-sample images uploaded
 * "in this page" against POST /predict for the same bytes (class and all 49
 * probabilities); and, with the network cut after load, how long after each
 * stroke's end the draw tab shows its answer. `make bench` writes it to
 * bench/results.json (the README's figures); the browser test asserts on it.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { percentile, realSamplePng, upload } from './harness';

/** Headless, and quiet on the network: without the background-networking flags Chromium keeps calling hosts this machine cannot reach. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium (`make setup-bench`, `make test`). */
const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Why the in-browser measures cannot run here, before minutes of other measures are spent; null when they can. */
export function browserMissing(executable = CHROMIUM): string | null {
  return existsSync(executable)
    ? null
    : `the benchmark measures in-browser recognition in Debian's Chromium (${executable}), which is not installed: run \`make setup-bench\` (as \`make bench\` does), or measure without it (ONLY=model)`;
}

/** What the page loads only to run the model itself: the recognizer bundle, the model's files, TensorFlow.js's WebAssembly. */
const IN_BROWSER_FILE = /\/ui\/in-browser\.js|\/model\/browser\.json|\/model\/[0-9a-f]+\/|\/ui\/wasm\//;

/** Ten characters' worth of strokes (fractions of the pad), three strokes each. */
function strokesOf(k: number): [number, number][][] {
  const j = (x: number) => x + 0.04 * Math.sin(7 * k + 13 * x);
  return [
    [
      [j(0.3), 0.25],
      [j(0.7), 0.3],
    ],
    [
      [j(0.5), 0.15],
      [j(0.45), 0.5],
      [j(0.55), 0.85],
    ],
    [
      [j(0.3), 0.6],
      [j(0.5), 0.45 + 0.02 * (k % 3)],
      [j(0.75), 0.6],
      [j(0.6), 0.8],
      [j(0.35), 0.75],
    ],
  ];
}

/** What the page records of the answer on screen (data-answer on #result-body). */
interface PageAnswer {
  source: string;
  backend: string | null;
  class_id: number;
  ms: number;
  probabilities: number[] | null;
}

/** The answer the page shows next (the caller cleared the previous one, or the page did). */
export async function pageAnswer(page: Page): Promise<PageAnswer> {
  const shown = await page.waitForFunction(() => document.getElementById('result-body')?.dataset.answer ?? false, null, { timeout: 30_000 });
  return JSON.parse((await shown.jsonValue()) as string) as PageAnswer;
}

/** One stroke across the draw pad through `points` (fractions of its width and height). */
export async function strokeOnPad(page: Page, points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(...points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(...p), { steps: 6 });
  await page.mouse.up();
}

/** POST /predict?top_k=49's answer: every class's probability. */
type ServerAnswer = { class_id: number; top_k: { class_id: number; confidence: number }[] };

/** The largest difference between the page's 49 probabilities and the server's. */
function largestDifference(probabilities: number[], server: ServerAnswer): number {
  return Math.max(...server.top_k.map((c) => Math.abs(probabilities[c.class_id]! - c.confidence)));
}

/** `backend` forces the page's backend (?backend=); by default the page picks as it does for its users. */
export async function measureInBrowser(url: string, opts: { images?: number; characters?: number; backend?: 'webgl' | 'wasm' } = {}, log = console.error) {
  const images = opts.images ?? 200;
  const characters = opts.characters ?? 10;
  const browser = await launchChromium();
  try {
    // Without the page's service worker: every response is then the page's own, as its resource timing reports it
    // (the worker adds no transfer: it keeps copies of what the page loads). Reopening offline is tested apart.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${url}/${opts.backend ? `?backend=${opts.backend}` : ''}`);
    await page.waitForFunction(() => ['ready', 'failed'].includes(document.getElementById('in-browser')?.dataset.state ?? ''), null, { timeout: 120_000 });
    if ((await page.getAttribute('#in-browser', 'data-state')) !== 'ready') {
      throw new Error(`the page could not run the model: ${await page.textContent('#in-browser')}`);
    }
    const backend = (await page.getAttribute('#in-browser', 'data-backend')) as 'webgl' | 'wasm';

    // First load: every response for in-browser recognition, as transferred (compressed, with headers).
    const files = (
      await page.evaluate(() => performance.getEntriesByType('resource').map((e) => ({ url: e.name, bytes: (e as PerformanceResourceTiming).transferSize })))
    )
      .filter((f) => IN_BROWSER_FILE.test(f.url))
      .map((f) => ({ file: new URL(f.url).pathname, bytes: f.bytes }));
    const transferBytes = files.reduce((a, f) => a + f.bytes, 0);

    // Uploads recognised in this page against the server's answer for the same bytes.
    await page.click('#tab-upload');
    await page.check('#upload-here');
    const parity = { images, same_class: 0, max_abs_diff: 0, over_1e3: 0, not_in_page: 0 };
    for (let i = 0; i < images; i++) {
      const png = await realSamplePng(i);
      await page.setInputFiles('#file', { name: `real-${i}.png`, mimeType: 'image/png', buffer: png });
      const here = await pageAnswer(page);
      const server = (await (await upload(`${url}/predict?top_k=49`, 'file', [{ name: `real-${i}.png`, bytes: png }])).json()) as ServerAnswer;
      if (here.source !== 'page' || !here.probabilities) {
        parity.not_in_page++;
        continue;
      }
      if (here.class_id === server.class_id) parity.same_class++;
      const worst = largestDifference(here.probabilities, server);
      parity.max_abs_diff = Math.max(parity.max_abs_diff, worst);
      if (worst > 1e-3) parity.over_1e3++;
    }

    // Drawing: online first, each stroke's answer against the server's for the pad's own PNG; then with the network
    // cut, every stroke's end answered in the page, timed from the stroke's end to the answer on screen.
    await page.click('#tab-draw');
    const draw = async (points: [number, number][]) => {
      await page.evaluate(() => delete document.getElementById('result-body')!.dataset.answer);
      await strokeOnPad(page, points);
      return pageAnswer(page);
    };
    const drawing = { strokes: 0, same_class: 0, max_abs_diff: 0 };
    await page.click('#clear');
    for (const points of strokesOf(characters)) {
      const here = await draw(points);
      const server = await page.evaluate(async () => {
        const pad = document.getElementById('pad') as HTMLCanvasElement;
        const png = await new Promise<Blob>((r) => pad.toBlob((b) => r(b!), 'image/png'));
        const form = new FormData();
        form.append('file', png, 'drawing.png');
        return (await (await fetch('/predict?top_k=49', { method: 'POST', body: form })).json()) as ServerAnswer;
      });
      drawing.strokes++;
      if (here.source === 'page' && here.class_id === server.class_id) drawing.same_class++;
      // An answer that is not the page's counts as the largest difference there is.
      drawing.max_abs_diff = Math.max(drawing.max_abs_diff, here.probabilities ? largestDifference(here.probabilities, server) : 1);
    }
    await context.setOffline(true);
    const strokeMs: number[] = [];
    let notInPage = 0;
    for (let k = 0; k < characters; k++) {
      await page.click('#clear');
      for (const points of strokesOf(k)) {
        const a = await draw(points);
        if (a.source === 'page') strokeMs.push(a.ms);
        else notInPage++;
      }
    }
    await context.setOffline(false);
    const sorted = [...strokeMs].sort((a, b) => a - b);
    const result = {
      browser: `Chromium ${browser.version()} (headless)`,
      backend,
      first_load: { transfer_bytes: transferBytes, files },
      parity,
      drawing_parity: drawing,
      strokes_offline: {
        strokes: strokeMs.length + notInPage,
        not_in_page: notInPage,
        p50_ms: Number(percentile(sorted, 0.5).toFixed(1)),
        p95_ms: Number(percentile(sorted, 0.95).toFixed(1)),
        max_ms: Number((sorted.at(-1) ?? Number.NaN).toFixed(1)),
      },
      page_errors: pageErrors,
    };
    log(
      `in the browser (${result.backend}): first load ${(transferBytes / 1e6).toFixed(2)} MB for the model and runtime; ` +
        `${parity.same_class}/${images} real-sample uploads the server's class, max |dp| ${parity.max_abs_diff.toExponential(2)}; ` +
        `offline strokes p50 ${result.strokes_offline.p50_ms} ms, p95 ${result.strokes_offline.p95_ms} ms`,
    );
    return result;
  } finally {
    await browser.close();
  }
}
