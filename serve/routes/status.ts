/** GET / (UI for browsers, status for others), GET /health, GET /openapi.json, GET /docs. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import { ApiError } from '../errors';
import { API_VERSION, openApiDocument } from '../schemas';
import type { Services } from './common';
import { UI_DIR } from './ui';

const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>K49 API docs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;

export function statusRoutes(router: Router, s: Services): void {
  const openapi = openApiDocument();

  router.get('/', async (ctx) => {
    if ((ctx.get('Accept') || '').includes('text/html')) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = readFileSync(path.join(UI_DIR, 'index.html'));
    } else {
      ctx.body = { status: 'ok', version: API_VERSION };
    }
  });

  router.get('/health', async (ctx) => {
    const { classifier, reason: modelReason } = s.modelStatus();
    const { store, reason: storeReason } = s.storeStatus();
    let queue: { pending: number; processing: number } | null = null;
    let reason = modelReason ?? storeReason;
    if (store) {
      try {
        await store.ping();
        const { pending, processing } = await store.stats();
        queue = { pending, processing };
      } catch (e) {
        reason = `task store unavailable: ${(e as Error).message}`;
      }
    }
    const ok = classifier !== null && queue !== null && !reason;
    ctx.status = ok ? 200 : 503;
    ctx.body = {
      status: ok ? 'ok' : 'unavailable',
      version: API_VERSION,
      model: classifier ? { version: classifier.info.version, trained_on: classifier.info.trained_on, balanced_accuracy: classifier.info.balanced_accuracy } : null,
      queue,
      ...(ok ? {} : { reason }),
      mode: s.config.mode,
    };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = s.metrics.registry.contentType;
    ctx.body = await s.metrics.registry.metrics();
  });

  router.get('/openapi.json', async (ctx) => {
    ctx.body = openapi;
  });
  router.get('/docs', async (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = DOCS_PAGE;
  });
  router.get('/docs/init.js', async (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = DOCS_INIT;
  });
  router.get('/docs/:file', async (ctx) => {
    const type = SWAGGER_FILES[ctx.params.file ?? ''];
    if (!type) throw new ApiError(404, `no such documentation asset: ${ctx.params.file}`);
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = readFileSync(path.join(SWAGGER_DIR, ctx.params.file!));
  });
}
