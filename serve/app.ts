/**
 * Koa app assembly: request log, error mapping, routes. The services (model,
 * batcher, task store) are passed in, so tests and the server share this.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import { ApiError, errorHandler } from './errors';
import { batchRoutes } from './routes/batch';
import { feedbackRoutes } from './routes/feedback';
import type { Services } from './routes/common';
import { predictRoutes } from './routes/predict';
import { statusRoutes } from './routes/status';
import { uiRoutes } from './routes/ui';

export function createApp(services: Services, logger: Logger): Koa {
  const app = new Koa();
  const router = new Router();
  app.proxy = process.env.TRUST_PROXY === '1';

  // Structured request log (one JSON line per request) and the request metrics.
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - started;
      logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: Number(ms.toFixed(2)) }, 'request');
      // The matched route pattern, never the raw path: task ids and junk paths must not become label values.
      const labels = { route: (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched', method: ctx.method, status: String(ctx.status) };
      services.metrics.httpRequests.inc(labels);
      services.metrics.httpDuration.observe(labels, ms / 1000);
    }
  });
  app.use(errorHandler((obj, msg) => logger.error(obj, msg)));

  // CORS: none unless CORS_ORIGINS names the origins (or '*') allowed to call from other sites.
  const origins = services.config.corsOrigins;
  if (origins.length > 0) {
    app.use(
      cors({
        origin: (ctx) => (origins.includes('*') ? '*' : origins.includes(ctx.get('Origin')) ? ctx.get('Origin') : ''),
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['Content-Type', 'X-API-Key'],
        exposeHeaders: ['Location'],
        maxAge: 600,
      }),
    );
  }

  // Optional access control: with API_KEY set, POST endpoints need it in X-API-Key.
  const apiKey = services.config.apiKey ? Buffer.from(services.config.apiKey) : null;
  app.use(async (ctx, next) => {
    if (apiKey && ctx.method === 'POST') {
      const given = Buffer.from(ctx.get('X-API-Key'));
      if (given.length !== apiKey.length || !timingSafeEqual(given, apiKey)) {
        ctx.set('WWW-Authenticate', 'X-API-Key');
        throw new ApiError(401, given.length === 0 ? 'this service requires an API key: send it in the X-API-Key header' : 'the API key in X-API-Key is not valid');
      }
    }
    await next();
  });

  // The whole request is refused up front when it announces more bytes than allowed.
  app.use(async (ctx, next) => {
    const length = Number(ctx.get('Content-Length') || 0);
    if (length > services.config.maxRequestBytes) {
      throw new ApiError(413, `the request is ${length} bytes, over the limit of ${services.config.maxRequestBytes} (MAX_REQUEST_BYTES)`);
    }
    if (ctx.method === 'POST' && router.match(ctx.path, 'POST').route && !ctx.is('multipart/form-data')) {
      throw new ApiError(400, `send multipart/form-data (got '${ctx.get('Content-Type') || 'no content type'}')`);
    }
    await next();
  });

  statusRoutes(router, services);
  uiRoutes(router);
  predictRoutes(router, services);
  batchRoutes(router, services);
  feedbackRoutes(router, services);
  // Whatever no route answered: a known path with the wrong method (allowedMethods sets 405, or 501 for a
  // method no route has, and the Allow header) or an unknown path, as JSON errors.
  app.use(async function unrouted(ctx, next) {
    await next();
    if (ctx.status === 405) throw new ApiError(405, `${ctx.method} is not allowed on ${ctx.path}: use ${ctx.response.get('Allow')} (see /docs)`);
    if (ctx.status === 501) throw new ApiError(501, `the method ${ctx.method} is not supported by this service (see /docs)`);
    if (ctx.status === 404 && ctx.body === undefined) throw new ApiError(404, `no route ${ctx.method} ${ctx.path}; see /docs`);
  });
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
