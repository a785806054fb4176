/** POST /feedback (a user's correction) and GET /feedback/stats. */
import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { z } from 'zod';
import { classByChar, classById, topK } from '../../../pipeline/core/classes';
import { feedbackStats } from '../../queue/feedback';
import type { NewFeedback } from '../../queue/store';
import { type FeedbackAccepted, FeedbackFields } from '../../schemas';
import { ApiError } from '../errors';
import { modelInput, parseOr400, requireFile, type Services, storeFirst } from './common';

/** The class a correction names: `class_id` or `label` (or both, agreeing). */
function correctedClass(fields: z.infer<typeof FeedbackFields>): number {
  const byLabel = fields.label === undefined ? undefined : classByChar(fields.label);
  if (fields.label !== undefined && !byLabel)
    throw new ApiError(400, `invalid label '${fields.label.slice(0, 20)}': give one of the 49 K49 characters (あ … ゝ), or class_id 0-48`);
  if (fields.class_id === undefined && !byLabel)
    throw new ApiError(400, "say what the character is: form field 'class_id' (0-48) or 'label' (the character, e.g. す)");
  if (fields.class_id !== undefined && byLabel && byLabel.index !== fields.class_id) {
    throw new ApiError(400, `class_id ${fields.class_id} (${classById(fields.class_id).char}) and label ${fields.label} disagree: send one of them`);
  }
  return fields.class_id ?? byLabel!.index;
}

export function feedbackRoutes(router: Router, s: Services): void {
  router.post('/feedback', storeFirst(s), s.upload.single('file'), async (ctx) => {
    const file = requireFile(ctx.file as { buffer?: Buffer } | undefined, 'file');
    const fields = parseOr400(FeedbackFields, (ctx.request as { body?: unknown }).body ?? {}, 'form field');
    const classId = correctedClass(fields);
    if ((fields.page_sha256 === undefined) !== (fields.page_box === undefined))
      throw new ApiError(400, "a character of a page is named by both form fields 'page_sha256' and 'page_box' (as POST /pages gave them), or by neither");
    if (fields.page_box && (fields.page_box[2] === 0 || fields.page_box[3] === 0))
      throw new ApiError(400, `page_box ${fields.page_box.join(',')} is empty: its width and height must be at least 1 pixel`);
    const image = await modelInput(s, file.buffer);

    // The model's own answer: the batch result being corrected, or what the served model says now.
    let answer: { class_id: number; confidence: number; model_version: string };
    if (fields.task_id) {
      if (fields.filename === undefined) throw new ApiError(400, "a correction of a batch result names its file too: form field 'filename'");
      const task = await s.store().getTask(fields.task_id.toLowerCase());
      if (!task) throw new ApiError(404, `no task ${fields.task_id}: it never existed or was purged after TASK_TTL`);
      if (task.status !== 'completed') throw new ApiError(409, `task ${fields.task_id} is still processing: correct its results once it has completed`);
      const result = task.results.find((r) => r.filename === fields.filename);
      if (!result) throw new ApiError(404, `task ${fields.task_id} has no file named '${fields.filename.slice(0, 100)}'`);
      if ('error' in result)
        throw new ApiError(400, `'${fields.filename.slice(0, 100)}' of task ${fields.task_id} was not classified (${result.error}): nothing to correct`);
      answer = { class_id: result.class_id, confidence: result.confidence, model_version: result.model_version ?? 'unknown' };
    } else {
      answer = await s.models.use(async ({ classifier, extra: batcher }) => {
        const [best] = topK(await batcher.announce().submit(image), 1);
        return { class_id: best!.class_id, confidence: best!.confidence, model_version: classifier.info.version };
      });
    }
    const feedback: NewFeedback = {
      image,
      image_sha1: createHash('sha1').update(image).digest('hex'),
      class_id: classId,
      model_version: answer.model_version,
      model_class_id: answer.class_id,
      model_confidence: answer.confidence,
      task_id: fields.task_id?.toLowerCase() ?? null,
      filename: fields.filename ?? null,
      page_sha256: fields.page_sha256 ?? null,
      page_box: fields.page_box ?? null,
    };
    const stored = await s.store().addFeedback(feedback);
    s.metrics.feedback.inc({ model_was: answer.class_id === classId ? 'right' : 'wrong' });
    const body: z.infer<typeof FeedbackAccepted> = {
      id: stored.id,
      class_id: classId,
      label: classById(classId).char,
      model_answer: {
        class_id: answer.class_id,
        prediction: classById(answer.class_id).char,
        confidence: answer.confidence,
        model_version: answer.model_version,
      },
    };
    ctx.status = 201;
    ctx.body = body;
  });

  router.get('/feedback/stats', async (ctx) => {
    ctx.body = feedbackStats(await s.store().listFeedback());
  });
}
