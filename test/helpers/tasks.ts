/** Helpers for the batch tests: polling a task, the predictions `make evaluate` makes on the real sample. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluate, type PredictionRecord } from '../../pipeline/evaluate/evaluate';
import { TaskResponse } from '../../serve/schemas';
import { REAL_SAMPLE_DIR, tempDir } from './paths';
import { TEST_MODEL, waitFor } from './service';

export const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export async function getTask(base: string, id: string) {
  return TaskResponse.parse(await (await fetch(`${base}/tasks/${id}`)).json());
}

export async function pollTask(base: string, id: string, timeoutMs = 120000) {
  return waitFor(
    `task ${id} to complete`,
    async () => {
      const body = await getTask(base, id);
      return body.status === 'completed' ? body : null;
    },
    timeoutMs,
    100,
  );
}

let evaluated: Promise<PredictionRecord[]> | null = null;
/** What `make evaluate` predicts for each real-sample image with the test model (computed once per run). */
export function evaluatedRealSample(): Promise<PredictionRecord[]> {
  return (evaluated ??= (async () => {
    const out = tempDir('k49-eval-');
    await evaluate({ data: REAL_SAMPLE_DIR, model: TEST_MODEL, out, log: () => {} });
    return JSON.parse(readFileSync(path.join(out, 'predictions.json'), 'utf8')) as PredictionRecord[];
  })());
}
