/**
 * The web page's assets. The browser code (serve/ui/app.ts) is bundled with
 * esbuild once, on first request, and kept in memory: no build output to
 * commit, no CDN, works offline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import { buildSync } from 'esbuild';
import { UI_DIR } from '../../../pipeline/core/paths';

let bundle: string | null = null;
function appBundle(): string {
  bundle ??= buildSync({
    entryPoints: [path.join(UI_DIR, 'app.ts')],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    logLevel: 'silent',
  }).outputFiles[0]!.text;
  return bundle;
}

export function uiRoutes(router: Router): void {
  router.get('/ui/app.js', async (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = appBundle();
  });
  router.get('/ui/style.css', async (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = readFileSync(path.join(UI_DIR, 'style.css'));
  });
}
