/** What the routes share: the services they use and small request helpers. */
import type { Middleware } from 'koa';
import type { z } from 'zod';
import { decodeForModel } from '../../../pipeline/core/preprocess';
import type { ServiceConfig } from '../../config';
import type { ModelHolder } from '../../model/holder';
import type { TaskStore } from '../../queue/store';
import { ApiError } from '../errors';
import type { makeUpload } from '../multipart';
import type { PageThread } from '../page-thread';
import type { DynamicBatcher } from '../predict-batcher';
import type { ServiceMetrics } from '../prometheus';

export interface Services {
  config: ServiceConfig;
  metrics: ServiceMetrics;
  upload: ReturnType<typeof makeUpload>;
  /** The served model (hot-reloadable), each with its own dynamic batcher; use() answers 503 while there is none. */
  models: ModelHolder<DynamicBatcher>;
  /** The page-cutting thread of POST /pages. */
  pages: PageThread;
  /** The task store, or a 503 ApiError. */
  store(): TaskStore;
  storeStatus(): { store: TaskStore | null; reason?: string };
}

export function parseOr400<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ApiError(400, `invalid ${what}${issue.path.length ? ` '${issue.path.join('.')}'` : ''}: ${issue.message}`);
  }
  return r.data;
}

export function requireFile(file: { buffer?: Buffer; size?: number } | undefined, field: string): { buffer: Buffer } {
  if (!file?.buffer) {
    throw new ApiError(400, `field '${field}' is missing: send the image as multipart/form-data field '${field}' (e.g. curl -F ${field}=@image.png)`);
  }
  if (file.buffer.length === 0) throw new ApiError(400, `field '${field}' is an empty file`);
  return { buffer: file.buffer };
}

/** Route middleware: answers 503 before the body is read when the task store is down. */
export function storeFirst(s: Services): Middleware {
  return async function storeFirst(_ctx, next) {
    s.store();
    await next();
  };
}

/** An upload as the model sees it (the one preprocessing and blank rule); an undecodable or blank image becomes a 4xx (errors.ts). */
export function modelInput(s: Services, bytes: Buffer): Promise<Uint8Array> {
  return decodeForModel(bytes, { maxPixels: s.config.maxPixels });
}
