/**
 * The app-wide Koa middlewares, each named for what it does (the names show
 * in stack traces and in `createApp`'s list). Route-level ones (storeFirst)
 * live with the routes.
 */
import { timingSafeEqual } from 'node:crypto';
import cors from '@koa/cors';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { ServiceConfig } from '../config';
import { ApiError, requestTooLarge } from './errors';
import type { ServiceMetrics } from './prometheus';

/** Structured request log (one JSON line per request) and the request metrics. */
export function requestLog(logger: Logger, metrics: ServiceMetrics): Middleware {
  return async function requestLog(ctx, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - started;
      logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, duration_ms: Number(ms.toFixed(2)) }, 'request');
      // The matched route pattern, never the raw path: task ids and junk paths must not become label values.
      const labels = { route: (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched', method: ctx.method, status: String(ctx.status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, ms / 1000);
    }
  };
}

/** CORS for the origins CORS_ORIGINS names (or '*'); null when none is named (same origin only). */
export function crossOrigin(origins: string[]): Middleware | null {
  if (origins.length === 0) return null;
  return cors({
    origin: (ctx) => (origins.includes('*') ? '*' : origins.includes(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['Content-Type', 'X-API-Key'],
    exposeHeaders: ['Location'],
    maxAge: 600,
  });
}

/** Optional access control: with API_KEY set, POST endpoints need it in X-API-Key (compared in constant time). */
export function apiKeyCheck(key: string | null): Middleware {
  const expected = key ? Buffer.from(key) : null;
  return async function apiKeyCheck(ctx, next) {
    if (expected && ctx.method === 'POST') {
      const given = Buffer.from(ctx.get('X-API-Key'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        ctx.set('WWW-Authenticate', 'X-API-Key');
        throw new ApiError(
          401,
          given.length === 0 ? 'this service requires an API key: send it in the X-API-Key header' : 'the API key in X-API-Key is not valid',
        );
      }
    }
    await next();
  };
}

/** Refuses a request up front when it announces more bytes than allowed, or posts to an upload route without multipart. */
export function requestShape(config: Pick<ServiceConfig, 'maxRequestBytes'>, router: Router): Middleware {
  return async function requestShape(ctx, next) {
    const length = Number(ctx.get('Content-Length') || 0);
    if (length > config.maxRequestBytes) {
      throw requestTooLarge(config.maxRequestBytes, length);
    }
    if (ctx.method === 'POST' && router.match(ctx.path, 'POST').route && !ctx.is('multipart/form-data')) {
      throw new ApiError(400, `send multipart/form-data (got '${ctx.get('Content-Type') || 'no content type'}')`);
    }
    await next();
  };
}

/**
 * Whatever no route answered, as JSON errors: a known path with the wrong
 * method (allowedMethods sets 405, or 501 for a method no route has, and the
 * Allow header) or an unknown path.
 */
export function unrouted(): Middleware {
  return async function unrouted(ctx, next) {
    await next();
    if (ctx.status === 405) throw new ApiError(405, `${ctx.method} is not allowed on ${ctx.path}: use ${ctx.response.get('Allow')} (see /docs)`);
    if (ctx.status === 501) throw new ApiError(501, `the method ${ctx.method} is not supported by this service (see /docs)`);
    if (ctx.status === 404 && ctx.body === undefined) throw new ApiError(404, `no route ${ctx.method} ${ctx.path}; see /docs`);
  };
}
