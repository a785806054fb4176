/**
 * Koa app assembly: request log, error mapping, routes. The services (model,
 * batcher, task store) are passed in, so tests and the server share this.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import { ApiError, errorHandler } from './errors';
import { batchRoutes } from './routes/batch';
import type { Services } from './routes/common';
import { predictRoutes } from './routes/predict';
import { statusRoutes } from './routes/status';
import { uiRoutes } from './routes/ui';

export function createApp(services: Services, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = process.env.TRUST_PROXY === '1';

  // Structured request log: one JSON line per request.
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: Number((performance.now() - started).toFixed(2)) }, 'request');
    }
  });
  app.use(errorHandler((obj, msg) => logger.error(obj, msg)));

  // The whole request is refused up front when it announces more bytes than allowed.
  app.use(async (ctx, next) => {
    const length = Number(ctx.get('Content-Length') || 0);
    if (length > services.config.maxRequestBytes) {
      throw new ApiError(413, `the request is ${length} bytes, over the limit of ${services.config.maxRequestBytes} (MAX_REQUEST_BYTES)`);
    }
    if (ctx.method === 'POST' && !ctx.is('multipart/form-data')) {
      throw new ApiError(400, `send multipart/form-data (got '${ctx.get('Content-Type') || 'no content type'}')`);
    }
    await next();
  });

  const router = new Router();
  statusRoutes(router, services);
  uiRoutes(router);
  predictRoutes(router, services);
  batchRoutes(router, services);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  app.use(async (ctx) => {
    if (ctx.status === 404 && ctx.body === undefined) throw new ApiError(404, `no route ${ctx.method} ${ctx.path}; see /docs`);
  });
  return app;
}
