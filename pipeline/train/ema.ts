/**
 * Exponential moving average of a model's weights (all of them, batch-norm
 * statistics included), kept in TensorFlow variables beside the model.
 */
import type * as TF from '@tensorflow/tfjs-node';
import type { Tf } from '../core/backend';

export class WeightAverage {
  private readonly averages: TF.Variable[];

  /** `initial`: the averaged weights to start from (a resumed run's), else the model's own. */
  constructor(
    private readonly tf: Tf,
    private readonly model: TF.LayersModel,
    private readonly decay: number,
    initial?: TF.Tensor[],
  ) {
    const start = initial ?? model.getWeights();
    this.averages = start.map((w) => tf.variable(w.clone(), false));
  }

  /**
   * Folds the model's current weights in. Early steps use a smaller decay
   * ((1 + step) / (10 + step), as TensorFlow's ExponentialMovingAverage does)
   * so the average does not drag the random initialisation along.
   */
  update(step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    const current = this.model.getWeights();
    this.tf.tidy(() => {
      this.averages.forEach((avg, i) => {
        avg.assign(avg.mul(d).add(current[i]!.mul(1 - d)));
      });
    });
  }

  /** Runs `fn` with the averaged weights in the model, then puts the trained ones back. */
  async withAveraged<T>(fn: () => Promise<T> | T): Promise<T> {
    const trained = this.model.getWeights().map((w) => w.clone());
    this.model.setWeights(this.averages);
    try {
      return await fn();
    } finally {
      this.model.setWeights(trained);
      this.tf.dispose(trained);
    }
  }
}
