/**
 * What the API takes on at once, decided before a request's body is read:
 *  - uploadAdmission: bytes being received across all uploads at once
 *    (MAX_RECEIVING_BYTES, from each request's Content-Length); beyond it,
 *    503 with Retry-After, so a burst of large uploads cannot take the
 *    process's memory, and the client retries shortly;
 *  - rateLimit: POST requests per second per client (RATE_LIMIT, a token
 *    bucket of RATE_LIMIT_BURST), the client being the API key when keys
 *    are on, else the client address; beyond it, 429 with Retry-After.
 *    Off by default (the embedded single-user mode).
 * Both are counted in /metrics.
 */
import type { Middleware } from 'koa';
import type { ServiceConfig } from '../config';
import { ApiError, megabytes } from './errors';
import type { ServiceMetrics } from './prometheus';

/** Seconds a client deferred for the receiving limit is told to wait: uploads in progress take about this long to land. */
const RECEIVING_RETRY_SECONDS = 2;

export function uploadAdmission(config: Pick<ServiceConfig, 'maxReceivingBytes' | 'maxRequestBytes'>, metrics: ServiceMetrics): Middleware {
  let receiving = 0;
  return async function uploadAdmission(ctx, next) {
    if (ctx.method !== 'POST') return next();
    // A body without a length (chunked) may be as large as a request may be.
    const declared = ctx.get('Content-Length');
    const bytes = declared ? Number(declared) : config.maxRequestBytes;
    // One upload is always taken, whatever its size (MAX_REQUEST_BYTES bounds it), so the limit never starves a client.
    if (receiving > 0 && receiving + bytes > config.maxReceivingBytes) {
      metrics.uploadsDeferred.inc();
      throw new ApiError(
        503,
        `the service is receiving ${megabytes(receiving)} of uploads at once and this one (${megabytes(bytes)}) would pass its limit of ` +
          `${megabytes(config.maxReceivingBytes)} (MAX_RECEIVING_BYTES=${config.maxReceivingBytes}): retry in ${RECEIVING_RETRY_SECONDS} s, ` +
          'or raise MAX_RECEIVING_BYTES where the server runs if it has the memory',
        { 'Retry-After': String(RECEIVING_RETRY_SECONDS) },
      );
    }
    receiving += bytes;
    metrics.receivingBytes.set(receiving);
    try {
      await next();
    } finally {
      receiving -= bytes;
      metrics.receivingBytes.set(receiving);
    }
  };
}

/** Clients whose bucket is full again are forgotten once this many are held. */
const MAX_TRACKED_CLIENTS = 10_000;

export function rateLimit(config: Pick<ServiceConfig, 'rateLimit' | 'rateLimitBurst' | 'apiKey'>, metrics: ServiceMetrics): Middleware | null {
  const rate = config.rateLimit;
  if (rate <= 0) return null;
  const burst = Math.max(1, config.rateLimitBurst);
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (b: { tokens: number; at: number }, now: number) => {
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
  };
  return async function rateLimit(ctx, next) {
    if (ctx.method !== 'POST') return next();
    // With API_KEY on, the key identifies the client (apiKeyCheck has checked it); else the address (X-Forwarded-For with TRUST_PROXY).
    const client = config.apiKey ? `key:${ctx.get('X-API-Key')}` : `ip:${ctx.ip}`;
    const now = Date.now();
    let bucket = buckets.get(client);
    if (!bucket) {
      if (buckets.size >= MAX_TRACKED_CLIENTS) {
        for (const [k, b] of buckets) {
          refill(b, now);
          if (b.tokens >= burst) buckets.delete(k);
        }
      }
      bucket = { tokens: burst, at: now };
      buckets.set(client, bucket);
    }
    refill(bucket, now);
    if (bucket.tokens < 1) {
      metrics.rateLimited.inc();
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
      throw new ApiError(
        429,
        `too many requests: this service takes ${rate} POST requests per second per client (RATE_LIMIT=${rate}, bursts of ${burst}: RATE_LIMIT_BURST); retry in ${wait} s`,
        { 'Retry-After': String(wait) },
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}
