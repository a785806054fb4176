/**
 * Bodies that do not change while the process runs (the page's scripts and
 * WebAssembly, the in-browser model's files), sent gzip-compressed when the
 * client accepts it, with an ETag: compressed and hashed once per body and
 * kept, so the page's first load transfers what it must, a revalidation
 * (Cache-Control: no-cache) of an unchanged body is a 304, and no request
 * pays for compression twice.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Context } from 'koa';

const files = new Map<string, Buffer>();
/** A file of the installed service (the page's HTML and CSS, WebAssembly), read on first use and kept, like the bundles. */
export function fileBody(file: string): Buffer {
  let body = files.get(file);
  if (!body) {
    body = readFileSync(file);
    files.set(file, body);
  }
  return body;
}

const gzipped = new WeakMap<Buffer, Buffer>();
const etags = new WeakMap<Buffer, string>();

export function sendStatic(ctx: Context, body: Buffer, type: string, cacheControl: string): void {
  ctx.type = type;
  ctx.set('Cache-Control', cacheControl);
  ctx.vary('Accept-Encoding');
  let etag = etags.get(body);
  if (!etag) {
    etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    etags.set(body, etag);
  }
  ctx.etag = etag;
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  if (ctx.acceptsEncodings('gzip', 'identity') !== 'gzip') {
    ctx.body = body;
    return;
  }
  let gz = gzipped.get(body);
  if (!gz) {
    gz = gzipSync(body, { level: 9 });
    gzipped.set(body, gz);
  }
  ctx.set('Content-Encoding', 'gzip');
  ctx.body = gz;
}
