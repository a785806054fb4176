/** GET /tasks/{id}'s JSON text, built from the stored JSON of each result (taskViewJson). */
import assert from 'node:assert/strict';
import { taskViewJson } from '../../serve/queue/store';
import { TaskResponse } from '../../serve/schemas';

describe('task view JSON', () => {
  const head = { task_id: '0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d', status: 'completed' as const, progress: { done: 2, total: 2 } };

  it("splices the stored results in, in order, and is the schema's task view", () => {
    const ok = { filename: 'a.png', prediction: 'あ', class_id: 0, confidence: 0.5, model_version: 'm' };
    const bad = { filename: 'b "quoted".png', error: 'not a raster image' };
    const text = taskViewJson(head, [JSON.stringify(ok), JSON.stringify(bad)]);
    assert.deepEqual(TaskResponse.parse(JSON.parse(text)), { ...head, results: [ok, bad] });
  });

  it('keeps the error of a failed task, and a result not yet stored is an empty object', () => {
    const failed = { ...head, status: 'failed' as const, progress: { done: 0, total: 1 }, error: 'the upload was cut' };
    assert.deepEqual(JSON.parse(taskViewJson(failed, [null])), { ...failed, results: [{}] });
    assert.deepEqual(JSON.parse(taskViewJson({ ...head, status: 'processing' }, [])), { ...head, status: 'processing', results: [] });
  });
});
