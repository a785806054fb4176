/**
 * Runs inside the inference thread (serve/inference/classifier.ts): loads the
 * artifact, warms it up, and answers each batch of images with their class
 * probabilities. Buffers are transferred both ways, never copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { K49Classifier } from '../../pipeline/core/inference';
import type { FromThread, ThreadData, ToThread } from './classifier';

async function main(): Promise<void> {
  const port = parentPort!;
  let classifier: K49Classifier;
  try {
    const { dir, warmUpBatchSizes } = workerData as ThreadData;
    classifier = await K49Classifier.load(dir);
    classifier.warmUp(warmUpBatchSizes);
  } catch (e) {
    port.postMessage({ type: 'failed', error: (e as Error).message } satisfies FromThread);
    return;
  }
  port.on('message', (m: ToThread) => {
    if (m.type === 'stop') {
      classifier.dispose();
      port.close();
      return;
    }
    try {
      // A copy of the native result: its memory belongs to TensorFlow and cannot be handed over.
      const probs = Float32Array.from(classifier.probabilities(new Uint8Array(m.images)));
      port.postMessage({ type: 'probabilities', id: m.id, probs: probs.buffer } satisfies FromThread, [probs.buffer]);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, error: (e as Error).message } satisfies FromThread);
    }
  });
  port.postMessage({ type: 'ready', info: classifier.info } satisfies FromThread);
}

void main();
