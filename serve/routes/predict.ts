/** POST /predict: one image in, top-k candidates out (through the dynamic batcher). */
import type Router from '@koa/router';
import type { z } from 'zod';
import sharp from 'sharp';
import { classById, NUM_CLASSES } from '../../pipeline/classes';
import { IMAGE_SIZE } from '../../pipeline/dataset';
import { decodeToK49 } from '../../pipeline/preprocess';
import { ApiError } from '../errors';
import { PredictQuery, PredictResponse } from '../schemas';
import { requireFile, parseOr400, type Services } from './common';

export function predictRoutes(router: Router, s: Services): void {
  router.post('/predict', s.upload.single('file'), async (ctx) => {
    const started = performance.now();
    const query = parseOr400(PredictQuery, ctx.query, 'query');
    const file = requireFile(ctx.file as { buffer?: Buffer; size?: number } | undefined, 'file');
    const model = s.model();
    const ticket = s.batcher().announce();
    let image: Uint8Array;
    try {
      image = await decodeToK49(file.buffer, { maxPixels: s.config.maxPixels });
      if (image.every((v) => v === 0)) throw new ApiError(400, 'the image is blank: no ink was found');
    } catch (e) {
      ticket.cancel();
      throw e;
    }
    const probs = await ticket.submit(image);
    const order = Array.from({ length: NUM_CLASSES }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
    const top = order.slice(0, query.top_k).map((c) => ({ class_id: c, prediction: classById(c).char, confidence: probs[c]! }));
    const body: z.infer<typeof PredictResponse> = {
      prediction: top[0]!.prediction,
      class_id: top[0]!.class_id,
      confidence: top[0]!.confidence,
      top_k: top,
      model_version: model.info.version,
      time_ms: Number((performance.now() - started).toFixed(2)),
      prediction_id: top[0]!.class_id,
      character: top[0]!.prediction,
    };
    if (query.include_image) {
      const png = await sharp(Buffer.from(image), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } }).png().toBuffer();
      body.model_input_png = `data:image/png;base64,${png.toString('base64')}`;
    }
    ctx.body = body;
  });
}
