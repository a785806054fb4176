/**
 * The web page's assets. The browser code is bundled with esbuild once, on
 * first request, and kept in memory: no build output to commit, no CDN, works
 * offline. Three bundles: the page (serve/ui/app.ts), the in-browser
 * recognizer (serve/ui/in-browser.ts: TensorFlow.js and the shared
 * preprocessing), which the page loads to run the model itself, and its
 * service worker (serve/ui/offline-worker.ts), which reopens it offline;
 * TensorFlow.js's WebAssembly files come from its npm package, for browsers
 * without WebGL.
 */
import path from 'node:path';
import type Router from '@koa/router';
import { buildSync } from 'esbuild';
import { UI_DIR } from '../../../pipeline/core/paths';
import { ApiError } from '../errors';
import { fileBody, sendStatic } from '../static-body';

const bundles = new Map<string, Buffer>();
/** `globalName`: where an IIFE bundle puts its exports (the in-browser recognizer's, for the page). */
function bundle(entry: string, globalName?: string): Buffer {
  let code = bundles.get(entry);
  if (!code) {
    code = Buffer.from(
      buildSync({
        entryPoints: [path.join(UI_DIR, entry)],
        bundle: true,
        write: false,
        minify: true,
        format: 'iife',
        target: ['es2020'],
        ...(globalName ? { globalName } : {}),
        logLevel: 'silent',
      }).outputFiles[0]!.text,
    );
    bundles.set(entry, code);
  }
  return code;
}

/** TensorFlow.js's WebAssembly builds (plain, SIMD, threaded SIMD): the page asks for the one its browser runs. */
const WASM_FILES = new Set(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']);
const WASM_DIR = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');

const JS = 'application/javascript; charset=utf-8';
/** Revalidated on each load (a new server may bring new code); the model's files are what is cached for good. */
const REVALIDATE = 'no-cache';

export function uiRoutes(router: Router): void {
  router.get('/ui/app.js', async (ctx) => sendStatic(ctx, bundle('app.ts'), JS, REVALIDATE));
  router.get('/ui/in-browser.js', async (ctx) => sendStatic(ctx, bundle('in-browser.ts', 'K49InBrowser'), JS, REVALIDATE));
  router.get('/ui/offline-worker.js', async (ctx) => {
    // Served under /ui/ but answering for the whole page (scope /).
    ctx.set('Service-Worker-Allowed', '/');
    sendStatic(ctx, bundle('offline-worker.ts'), JS, REVALIDATE);
  });
  router.get('/ui/wasm/:file', async (ctx) => {
    const file = ctx.params.file ?? '';
    if (!WASM_FILES.has(file)) throw new ApiError(404, `no such WebAssembly file: ${file}`);
    sendStatic(ctx, fileBody(path.join(WASM_DIR, file)), 'application/wasm', 'public, max-age=86400');
  });
  router.get('/ui/style.css', async (ctx) => sendStatic(ctx, fileBody(path.join(UI_DIR, 'style.css')), 'text/css; charset=utf-8', REVALIDATE));
}
