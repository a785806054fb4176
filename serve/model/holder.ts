/**
 * The model a process serves, replaceable without downtime. The holder
 * watches MODEL (by default the `artifacts/latest` link): when it points to
 * another artifact, or on reload() (SIGHUP), the new model is loaded and
 * warmed beside the old one and then swapped in atomically. Work that began
 * on the old model finishes on it (use() holds it), and it is freed once the
 * last such work is done. An artifact that fails to load is refused with a
 * logged reason and the old model keeps serving. A model whose inference
 * thread ends unexpectedly is loaded afresh from the same artifact.
 */
import { realpathSync } from 'node:fs';
import type { Logger } from 'pino';
import { resolveModelDir } from '../../pipeline/core/artifacts';
import { ThreadedClassifier } from './classifier';

export interface ServedModel<Extra> {
  classifier: ThreadedClassifier;
  /** Per-model companions (the API's dynamic batcher), made when the model is loaded. */
  extra: Extra;
  loadedAt: Date;
}

interface Entry<Extra> extends ServedModel<Extra> {
  target: string;
  users: number;
  retired: boolean;
  freed: boolean;
}

export class ModelHolder<Extra = undefined> {
  private entry: Entry<Extra> | null = null;
  /** Why there is no model (first load failed), or null. */
  private failure: string | null = null;
  /** The last target that failed to load: not retried until MODEL points elsewhere or reload() is called. */
  private refused: string | null = null;
  private reloading: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** Told of each reload after the first load (metrics). */
  onReload: (outcome: 'swapped' | 'refused') => void = () => {};

  constructor(
    private readonly modelPath: string,
    private readonly logger: Logger,
    private readonly companion: (c: ThreadedClassifier) => Extra,
    /** Batch sizes each loaded model runs once before it serves (the worker's claim size). */
    private readonly warmUpBatchSizes: number[] = [],
  ) {}

  /** The model now served, or null with the reason. */
  status(): { served: ServedModel<Extra> | null; reason: string | null } {
    return { served: this.entry, reason: this.entry ? null : this.failure };
  }

  /** Runs `fn` on the current model; a swap during `fn` does not free that model until `fn` is done. */
  async use<T>(fn: (m: ServedModel<Extra>) => Promise<T> | T): Promise<T> {
    const e = this.entry;
    if (!e) throw new ModelUnavailableError(this.failure ?? 'no model loaded');
    e.users++;
    try {
      return await fn(e);
    } finally {
      e.users--;
      this.freeIfDone(e);
    }
  }

  /** Checks MODEL every `intervalMs` and reloads when it points to another artifact. */
  watch(intervalMs: number): void {
    this.timer = setInterval(() => void this.reload(false), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Loads MODEL's target when it changed (or always, with `force`: SIGHUP),
   * and swaps it in. Reloads never overlap.
   */
  reload(force = true): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadNow(force));
    return this.reloading;
  }

  private async reloadNow(force: boolean): Promise<void> {
    let target: string;
    try {
      target = realpathSync(this.modelPath);
    } catch (e) {
      if (force || this.refused !== this.modelPath)
        this.logger.error({ model: this.modelPath, reason: (e as Error).message }, 'model reload refused: MODEL does not resolve');
      this.refused = this.modelPath;
      return;
    }
    if (!force && (target === this.entry?.target || target === this.refused)) return;
    let classifier: ThreadedClassifier;
    try {
      classifier = await ThreadedClassifier.start(resolveModelDir(target), this.warmUpBatchSizes);
    } catch (e) {
      this.refused = target;
      const reason = (e as Error).message;
      if (this.entry) {
        this.logger.error({ model: target, reason, serving: this.entry.classifier.info.version }, 'model reload refused; the current model keeps serving');
        this.onReload('refused');
      } else {
        this.failure = `model unavailable: ${reason}`;
        this.logger.error({ model: target, reason }, 'model not loaded');
      }
      return;
    }
    this.refused = null;
    this.failure = null;
    classifier.onUnexpectedExit = (reason) => {
      // Requests on it fail with the reason meanwhile; the same artifact is loaded afresh and swapped in.
      this.logger.error({ model: classifier.info.version, reason }, 'the inference thread ended unexpectedly; reloading the model');
      if (this.entry?.classifier === classifier) void this.reload();
    };
    const old = this.entry;
    this.entry = { classifier, extra: this.companion(classifier), loadedAt: new Date(), target, users: 0, retired: false, freed: false };
    this.logger.info(
      { model: classifier.info.version, dir: target, replaced: old?.classifier.info.version ?? null },
      old ? 'model swapped in' : 'model loaded and warmed up',
    );
    if (old) {
      this.onReload('swapped');
      old.retired = true;
      this.freeIfDone(old);
    }
  }

  private freeIfDone(e: Entry<Extra>): void {
    if (e.retired && e.users === 0 && !e.freed) {
      e.freed = true;
      e.classifier.dispose();
      this.logger.info({ model: e.classifier.info.version }, 'previous model freed');
    }
  }
}

export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}
