/** POST /batch_predict and GET /tasks/{task_id}: durable asynchronous batches. */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { z } from 'zod';
import { BatchIngest } from '../../queue/ingest';
import type { FileView } from '../../queue/store';
import { type BatchAccepted, type FileTaskResponse, TaskParams } from '../../schemas';
import { ApiError } from '../errors';
import { receiveFiles } from '../multipart';
import { type Services, storeFirst } from './common';

/** File names are echoed back as data, never used as paths; keep them printable and bounded. */
function safeFilename(name: string | undefined, index: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what file names are cleaned of
  const cleaned = (name ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return cleaned.length > 0 ? cleaned : `file-${index + 1}`;
}

/**
 * Route middleware: the upload's files go into the task store while the body streams in (BatchIngest);
 * if anything fails before the 202, what was stored of the task is deleted.
 */
function ingestUpload(s: Services): Middleware {
  return async function ingestUpload(ctx, next) {
    const ingest = new BatchIngest(s.store());
    receiveFiles(ctx.req, (file) => ingest.add({ filename: safeFilename(file.originalname, ingest.count), bytes: file.buffer }));
    ctx.state.ingest = ingest;
    try {
      await next();
    } catch (e) {
      await ingest.abort().catch(() => {});
      throw e;
    }
  };
}

export function batchRoutes(router: Router, s: Services): void {
  router.post('/batch_predict', storeFirst(s), ingestUpload(s), s.upload.array('files'), async (ctx) => {
    const ingest = ctx.state.ingest as BatchIngest;
    if (ingest.count === 0) {
      throw new ApiError(
        400,
        "field 'files' is missing: send the images as repeated multipart/form-data fields 'files' (e.g. curl -F files=@a.png -F files=@b.png)",
      );
    }
    const { taskId, fileIds } = await ingest.finish();
    s.metrics.imagesAccepted.inc(fileIds.length);
    ctx.status = 202;
    ctx.set('Location', `/tasks/${taskId}`);
    const body: z.infer<typeof BatchAccepted> = { task_id: taskId, status: 'processing', message: 'Queued', task_ids: fileIds };
    ctx.body = body;
  });

  router.get('/tasks/:task_id', async (ctx) => {
    if (!TaskParams.safeParse(ctx.params).success) {
      throw new ApiError(400, `malformed task id '${String(ctx.params.task_id).slice(0, 100)}': task ids are UUID v4, as returned by POST /batch_predict`);
    }
    const id = TaskParams.parse(ctx.params).task_id.toLowerCase();
    const store = s.store();
    const task = await store.getTaskJson(id);
    if (task !== null) {
      ctx.type = 'application/json';
      ctx.body = task;
      return;
    }
    const file = await store.getFile(id);
    if (!file) throw new ApiError(404, `Task not found: no task or file ${id}; it never existed or was purged after TASK_TTL`);
    ctx.body = fileTaskView(file);
  });
}

/** One file of a batch in the FastAPI version's per-file shape (`task_ids` of POST /batch_predict). */
function fileTaskView(file: FileView): z.infer<typeof FileTaskResponse> {
  if (file.taskStatus === 'failed') return { status: 'failed', error: file.error ?? 'the task failed' };
  if (!file.result) return { status: 'processing' };
  const r = file.result;
  return 'error' in r
    ? { status: 'completed', result: { status: 'error', message: r.error } }
    : { status: 'completed', result: { status: 'success', prediction_id: r.class_id, character: r.prediction, confidence: r.confidence } };
}
