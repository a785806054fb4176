/**
 * Koa app assembly: the app-wide middlewares (serve/api/middleware.ts) in order,
 * then the routes. The services (model, batcher, task store) are passed in,
 * so tests and the server share this. Adding an endpoint: its schemas in
 * schemas.ts (with its OpenAPI entry), its handler in routes/, one line here.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import { rateLimit, uploadAdmission } from './admission';
import { errorHandler } from './errors';
import { apiKeyCheck, crossOrigin, requestLog, requestShape, unrouted } from './middleware';
import { batchRoutes } from './routes/batch';
import { browserModelRoutes } from './routes/browser-model';
import type { Services } from './routes/common';
import { feedbackRoutes } from './routes/feedback';
import { pageRoutes } from './routes/pages';
import { predictRoutes } from './routes/predict';
import { statusRoutes } from './routes/status';
import { uiRoutes } from './routes/ui';

export function createApp(services: Services, logger: Logger): Koa {
  const app = new Koa();
  const router = new Router();
  app.proxy = services.config.trustProxy;

  app.use(requestLog(logger, services.metrics));
  app.use(errorHandler((obj, msg) => logger.error(obj, msg), services.config));
  const cors = crossOrigin(services.config.corsOrigins);
  if (cors) app.use(cors);
  app.use(apiKeyCheck(services.config.apiKey));
  const limit = rateLimit(services.config, services.metrics);
  if (limit) app.use(limit);
  app.use(requestShape(services.config, router));
  app.use(uploadAdmission(services.config, services.metrics));

  statusRoutes(router, services);
  browserModelRoutes(router, services);
  uiRoutes(router);
  predictRoutes(router, services);
  pageRoutes(router, services);
  batchRoutes(router, services);
  feedbackRoutes(router, services);
  app.use(unrouted());
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
