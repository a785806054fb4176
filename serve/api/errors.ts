/**
 * One place that turns failures into the contract's JSON errors
 * `{"detail": "..."}` with the right status. No stack trace reaches a client.
 */
import type { Context, Next } from 'koa';
import { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { PageReadError } from '../../pipeline/page/read';
import type { ServiceConfig } from '../config';
import { ModelUnavailableError } from '../model/holder';
import { StoreUnavailableError } from '../queue/store';
import { UploadTooLargeError } from './multipart';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    /** Headers the answer carries (e.g. Retry-After of a 429 or 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** The upload limits an error message names, with how to change them. */
export type UploadLimits = Pick<ServiceConfig, 'maxFileBytes' | 'maxBatchFiles' | 'maxRequestBytes'>;

/** Bytes as a person reads them: 10485760 -> '10 MB', 20000 -> '20 KB'. */
export function megabytes(bytes: number): string {
  return bytes < 2 ** 20 / 10 ? `${Math.round(bytes / 1024)} KB` : `${Number((bytes / 2 ** 20).toFixed(1))} MB`;
}

/** 413 for a request over MAX_REQUEST_BYTES (from its Content-Length, or counted while it streams in). */
export function requestTooLarge(limit: number, length?: number): ApiError {
  const size = length === undefined ? 'the files of this request are' : `this request is ${megabytes(length)},`;
  return new ApiError(
    413,
    `${size} larger than the limit of ${megabytes(limit)} per request (MAX_REQUEST_BYTES=${limit}): send the files in several batches, or raise MAX_REQUEST_BYTES where the server runs`,
  );
}

const MULTER: Record<string, [number, (field: string | undefined, limits: UploadLimits, page: boolean) => string]> = {
  LIMIT_FILE_SIZE: [
    413,
    (_, l, page) =>
      `a file is larger than the limit of ${megabytes(l.maxFileBytes)} per file (MAX_FILE_BYTES=${l.maxFileBytes}): send a smaller image (${
        page ? 'a page scan needs no more than 2,000-3,000 pixels a side, as JPEG' : 'a character needs no more than a few hundred pixels a side'
      }), or raise MAX_FILE_BYTES where the server runs`,
  ],
  LIMIT_FILE_COUNT: [
    413,
    (_, l) =>
      `too many files in one request: the limit is ${l.maxBatchFiles} (MAX_BATCH_FILES): send them in several batches, or raise MAX_BATCH_FILES where the server runs`,
  ],
  LIMIT_PART_COUNT: [413, () => 'too many parts in the multipart body'],
  LIMIT_FIELD_COUNT: [400, () => 'too many form fields'],
  LIMIT_FIELD_KEY: [400, () => 'a form field name is too long'],
  LIMIT_FIELD_VALUE: [400, () => 'a form field value is too long'],
  LIMIT_UNEXPECTED_FILE: [400, (field) => `unexpected file field '${field ?? ''}'`],
  MISSING_FIELD_NAME: [400, () => 'a multipart part has no field name'],
};

function toApiError(err: unknown, expectedField: string | undefined, limits: UploadLimits, page = false): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof UploadTooLargeError) return requestTooLarge(limits.maxRequestBytes);
  if (err instanceof ModelUnavailableError) return new ApiError(503, `${err.message}. An operator must provide a model artifact (MODEL=).`);
  if (err instanceof StoreUnavailableError) return new ApiError(503, `${err.message}. Retry later; an operator must fix the task store.`);
  if (err instanceof PageReadError) return new ApiError(err.kind === 'too_many_characters' ? 413 : 400, err.message);
  if (err instanceof ImageDecodeError) {
    const status = err.kind === 'too_large' ? 413 : err.kind === 'empty' || err.kind === 'blank' ? 400 : 415;
    return new ApiError(status, err.message);
  }
  const e = err as { name?: string; code?: string; field?: string; message?: string; status?: number; expose?: boolean };
  if (e.name === 'MulterError' && e.code === 'LIMIT_UNEXPECTED_FILE' && expectedField === 'file' && e.field === 'file') {
    return new ApiError(
      400,
      "one image per request: this one holds more than one 'file' part; send several images to /batch_predict, each as a part named 'files'",
    );
  }
  if (e.name === 'MulterError' && e.code && MULTER[e.code]) {
    const [status, text] = MULTER[e.code]!;
    if (e.code === 'LIMIT_FILE_SIZE' || e.code === 'LIMIT_FILE_COUNT') return new ApiError(status, text(e.field, limits, page));
    const hint = expectedField ? `: send the image${expectedField === 'files' ? 's' : ''} as multipart/form-data field '${expectedField}'` : '';
    return new ApiError(status, text(e.field, limits, page) + hint);
  }
  // busboy: malformed multipart bodies
  if (typeof e.message === 'string' && /Unexpected end of (form|multipart)|Malformed part header|Boundary not found|Multipart: /i.test(e.message)) {
    return new ApiError(400, `malformed multipart body (${e.message}); send multipart/form-data`);
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) return new ApiError(e.status, e.message ?? 'bad request');
  return null;
}

/** Koa middleware: maps errors to JSON; unknown ones become a logged 500. */
export function errorHandler(log: (obj: object, msg: string) => void, limits: UploadLimits) {
  return async function errorHandler(ctx: Context, next: Next) {
    try {
      await next();
    } catch (err) {
      const expected =
        ctx.path === '/predict' || ctx.path === '/feedback' || ctx.path === '/pages' ? 'file' : ctx.path === '/batch_predict' ? 'files' : undefined;
      const api = toApiError(err, expected, limits, ctx.path === '/pages');
      if (api) {
        ctx.status = api.status;
        ctx.set(api.headers);
        ctx.body = { detail: api.message };
      } else {
        log({ err: { message: (err as Error).message, stack: (err as Error).stack }, path: ctx.path }, 'unhandled error');
        ctx.status = 500;
        ctx.body = { detail: 'internal error; it has been logged. Retry, and report it if it persists.' };
      }
      // Drain the rest of an aborted upload so the client gets the answer.
      if (!ctx.req.readableEnded) ctx.req.resume();
    }
  };
}
