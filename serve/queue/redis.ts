/**
 * Redis task store for deployments across hosts (QUEUE_URL=redis://host:port/db).
 *
 * Claiming, leases and stalled-job recovery are BullMQ's: every image is one
 * BullMQ job, fetched manually under a lock (the lease); BullMQ's stalled
 * checker gives the jobs of a killed worker back to the queue. A job fetched
 * more than MAX_ATTEMPTS times (it took workers down) is answered with a
 * per-file error instead of another try, as the SQLite store does.
 * The task itself (its images, results and progress) lives in three Redis
 * hashes that expire TASK_TTL after the task finishes. Results are written
 * with HSETNX in one script, so an image processed twice (a lease that ran
 * out under a slow worker) keeps its first result and counts once.
 */
import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  type ClaimedItem,
  type FeedbackRecord,
  type FileView,
  type ItemResult,
  type NewFeedback,
  type PageBox,
  parseTaskView,
  type QueueStats,
  type StoredStatus,
  type StoreOptions,
  StoreUnavailableError,
  type TaskIngest,
  type TaskStore,
  type TaskView,
  taskViewJson,
  viewStatus,
} from './store';

const QUEUE_NAME = 'k49-images';
const PREFIX = 'k49';
/** How long a new store waits for its first connection before serving (it keeps reconnecting afterwards). */
const CONNECT_WAIT_MS = 3000;

interface ImageJob {
  taskId: string;
  index: number;
  filename: string;
}

const taskKey = (id: string) => `${PREFIX}:task:${id}`;
const imagesKey = (id: string) => `${PREFIX}:task:${id}:images`;
const resultsKey = (id: string) => `${PREFIX}:task:${id}:results`;
/** Per-file ids of a task (field: index) and, for each, where it points (`taskId/index`). */
const filesKey = (id: string) => `${PREFIX}:task:${id}:files`;
const FILE_KEY_PREFIX = `${PREFIX}:file:`;
const fileKey = (fileId: string) => `${FILE_KEY_PREFIX}${fileId}`;

/** Corrections: one hash each, and their ids in arrival order. Never expired. */
const feedbackKey = (id: string) => `${PREFIX}:feedback:${id}`;
const FEEDBACK_IDS = `${PREFIX}:feedback-ids`;

/** Cumulative outcome counters (fields ok, error) for /metrics. */
const ANSWERED_KEY = `${PREFIX}:answered`;

/**
 * Completes a task whose images are all answered: the task, its results and its per-file ids expire
 * TASK_TTL from now and its images are dropped. The per-file id keys are named from the ids hash
 * (this store does not support Redis Cluster).
 */
const COMPLETE_TASK = `
local function complete(task, results, images, files, now, ttl)
  redis.call('HSET', task, 'status', 'completed', 'finished_at', now)
  redis.call('PEXPIRE', task, ttl)
  redis.call('PEXPIRE', results, ttl)
  redis.call('DEL', images)
  for _, fid in ipairs(redis.call('HVALS', files)) do
    redis.call('PEXPIRE', '${FILE_KEY_PREFIX}' .. fid, ttl)
  end
  redis.call('PEXPIRE', files, ttl)
end
`;

/**
 * Records one result once. KEYS: task, results, images, answered counters,
 * per-file ids; ARGV: index, result JSON, now (ms), ttl (ms), outcome (ok or error).
 * Returns 1 when recorded, 0 when the image already had a result, -1 when
 * the task no longer exists (expired or aborted). A task still being uploaded
 * completes when its upload finishes (FINISH_UPLOAD); until then its results
 * expire with the rest of it.
 */
const RECORD_RESULT = `${COMPLETE_TASK}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
redis.call('HDEL', KEYS[3], ARGV[1])
local done = redis.call('HINCRBY', KEYS[1], 'done', 1)
if redis.call('HGET', KEYS[1], 'status') == 'uploading' then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
elseif done >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
  complete(KEYS[1], KEYS[2], KEYS[3], KEYS[5], ARGV[3], ARGV[4])
end
return 1
`;

/**
 * Ends a task's upload. KEYS: task, results, images, per-file ids; ARGV: now (ms), ttl (ms).
 * Its keys were stored with an expiry (TASK_TTL), so that an upload cut off by a failure of
 * Redis or of the API process expires by itself; that expiry is lifted here, or, when the workers
 * already answered every image, the task completes at once. Returns 0 when the task is gone.
 */
const FINISH_UPLOAD = `${COMPLETE_TASK}
if redis.call('HGET', KEYS[1], 'status') ~= 'uploading' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'done')) >= tonumber(redis.call('HGET', KEYS[1], 'total')) then
  complete(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])
  return 1
end
redis.call('HSET', KEYS[1], 'status', 'processing')
for i = 1, #KEYS do redis.call('PERSIST', KEYS[i]) end
for _, fid in ipairs(redis.call('HVALS', KEYS[4])) do
  redis.call('PERSIST', '${FILE_KEY_PREFIX}' .. fid)
end
return 1
`;

type CommandRedis = Redis & {
  recordResult(...args: ReturnType<RedisTaskStore['recordArgs']>): Promise<number>;
  finishUpload(...args: [task: string, results: string, images: string, files: string, now: number, ttlMs: number]): Promise<number>;
};

/**
 * Runs a MULTI or pipeline and returns each command's reply, failing on the first command that
 * failed (ioredis reports those per command, not by throwing) or, when `commands` is given, on a
 * reply of another length.
 */
async function exec(batch: ReturnType<Redis['multi']> | ReturnType<Redis['pipeline']>, commands?: number): Promise<unknown[]> {
  const replies = (await batch.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0]!;
  if (commands !== undefined && replies.length !== commands) throw new Error(`incomplete reply from Redis (${replies.length} of ${commands})`);
  return replies.map(([, value]) => value);
}

export class RedisTaskStore implements TaskStore {
  /** Commands from this process; fails fast while Redis is down (the API answers 503 instead of hanging). */
  private readonly redis: CommandRedis;
  private readonly queue: Queue<ImageJob>;
  private worker: Worker<ImageJob> | null = null;
  private workerRedis: Redis | null = null;
  /** Jobs this process holds a lease on, by `${taskId}/${index}`. */
  private readonly held = new Map<string, { job: Job<ImageJob>; token: string }>();

  constructor(
    private readonly url: string,
    private readonly options: StoreOptions,
  ) {
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }) as CommandRedis;
    // ioredis reconnects by itself; without a listener an outage would print unhandled 'error' events.
    this.redis.on('error', () => {});
    this.redis.defineCommand('recordResult', { numberOfKeys: 5, lua: RECORD_RESULT });
    this.redis.defineCommand('finishUpload', { numberOfKeys: 4, lua: FINISH_UPLOAD });
    this.queue = new Queue<ImageJob>(QUEUE_NAME, { connection: this.redis, prefix: `${PREFIX}:bull` });
    this.queue.on('error', () => {});
  }

  /** Waits (bounded) for the first connection; the store is usable without it and 503s until Redis answers. */
  async connect(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CONNECT_WAIT_MS);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Runs a Redis operation, reporting any failure of Redis itself as StoreUnavailableError. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      // Just after Redis goes away ioredis may still say 'ready' while its socket is closed: that is no connection too.
      const lost = this.redis.status !== 'ready' || /Stream isn't writeable|Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE/.test((e as Error).message);
      const reason = lost ? `no connection (${this.redis.status === 'ready' ? 'closed' : this.redis.status})` : (e as Error).message;
      throw new StoreUnavailableError(`task store unavailable (Redis at ${this.where()}): ${reason}`);
    }
  }

  private where(): string {
    const u = new URL(this.url);
    return `${u.hostname}:${u.port || 6379}${u.pathname.length > 1 ? u.pathname : ''}`;
  }

  async beginTask(): Promise<TaskIngest> {
    const id = randomUUID();
    const ttlMs = this.options.ttlMs;
    const fileIds: string[] = [];
    const jobs: Job<ImageJob>[] = [];
    // Every key is stored with an expiry (TASK_TTL), renewed by each add() and lifted by finish(): if Redis
    // or this process fails before the upload ends, the client gets an error and the half-made task expires by itself.
    await this.guard(() =>
      exec(this.redis.multi().hset(taskKey(id), { total: 0, done: 0, status: 'uploading', created_at: Date.now() }).pexpire(taskKey(id), ttlMs), 2),
    );
    return {
      taskId: id,
      add: (files) =>
        this.guard(async () => {
          const first = fileIds.length;
          const ids = files.map(() => randomUUID());
          const tx = this.redis.multi();
          tx.hincrby(taskKey(id), 'total', files.length);
          tx.hset(imagesKey(id), Object.fromEntries(files.map((f, i) => [String(first + i), f.bytes])));
          tx.hset(filesKey(id), Object.fromEntries(ids.map((fid, i) => [String(first + i), fid])));
          ids.forEach((fid, i) => {
            tx.set(fileKey(fid), `${id}/${first + i}`, 'PX', ttlMs);
          });
          for (const k of [taskKey(id), imagesKey(id), filesKey(id)]) tx.pexpire(k, ttlMs);
          await exec(tx);
          fileIds.push(...ids);
          jobs.push(
            ...(await this.queue.addBulk(
              files.map((f, i) => ({
                name: 'classify',
                data: { taskId: id, index: first + i, filename: f.filename },
                opts: { removeOnComplete: true, removeOnFail: true },
              })),
            )),
          );
          return ids;
        }),
      finish: () =>
        this.guard(async () => {
          if ((await this.redis.finishUpload(taskKey(id), resultsKey(id), imagesKey(id), filesKey(id), Date.now(), ttlMs)) !== 1) {
            throw new Error(`task ${id} expired or was deleted before its upload finished`);
          }
        }),
      abort: () =>
        this.guard(async () => {
          await this.redis.del(taskKey(id), imagesKey(id), resultsKey(id), filesKey(id), ...fileIds.map(fileKey));
          // Its queued jobs go too; one a worker holds (BullMQ refuses to remove it) finds the task gone and is dropped.
          await Promise.all(jobs.map((job) => job.remove().catch(() => {})));
        }),
    };
  }

  async getFile(fileId: string): Promise<FileView | null> {
    return this.guard(async () => {
      const where = await this.redis.get(fileKey(fileId));
      if (!where) return null;
      const [taskId, index] = where.split('/') as [string, string];
      const [task, result] = (await exec(this.redis.multi().hmget(taskKey(taskId), 'status', 'error').hget(resultsKey(taskId), index), 2)) as [
        (string | null)[],
        string | null,
      ];
      const [status, error] = task;
      if (!status) return null;
      return {
        taskId,
        taskStatus: viewStatus(status as StoredStatus),
        result: result ? (JSON.parse(result) as ItemResult) : null,
        ...(error ? { error } : {}),
      };
    });
  }

  async getTask(taskId: string): Promise<TaskView | null> {
    return parseTaskView(await this.getTaskJson(taskId));
  }

  async getTaskJson(taskId: string): Promise<string | null> {
    return this.guard(async () => {
      const t = await this.redis.hgetall(taskKey(taskId));
      if (!t.total) return null;
      const status = viewStatus(t.status as StoredStatus);
      let results: (string | undefined)[] = [];
      if (status !== 'processing') {
        const raw = await this.redis.hgetall(resultsKey(taskId));
        results = Array.from({ length: Number(t.total) }, (_, i) => raw[String(i)]);
      }
      const head = { task_id: taskId, status, progress: { done: Number(t.done), total: Number(t.total) }, ...(t.error ? { error: t.error } : {}) };
      return taskViewJson(head, results);
    });
  }

  /** The BullMQ worker used only to fetch jobs by hand; created on the first claim (API processes never need one). */
  private async fetcher(leaseMs: number): Promise<Worker<ImageJob>> {
    if (this.worker) return this.worker;
    // BullMQ's fetching connection must wait through outages (maxRetriesPerRequest: null), unlike this.redis.
    this.workerRedis = new Redis(this.url, { maxRetriesPerRequest: null });
    this.workerRedis.on('error', () => {});
    const worker = new Worker<ImageJob>(QUEUE_NAME, null, {
      connection: this.workerRedis,
      prefix: `${PREFIX}:bull`,
      lockDuration: leaseMs,
      stalledInterval: Math.min(leaseMs, 30_000),
      // Stalls are counted by attemptsStarted in claim(); BullMQ itself must keep giving the job back.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      autorun: false,
    });
    worker.on('error', () => {});
    await worker.waitUntilReady();
    void worker.startStalledCheckTimer();
    this.worker = worker;
    return worker;
  }

  async claim(workerId: string, max: number, leaseMs: number): Promise<ClaimedItem[]> {
    return this.guard(async () => {
      const worker = await this.fetcher(leaseMs);
      const token = `${workerId}:${randomUUID()}`;
      const jobs: Job<ImageJob>[] = [];
      while (jobs.length < max) {
        const job = (await worker.getNextJob(token, { block: false })) as Job<ImageJob> | undefined;
        if (!job) break;
        jobs.push(job);
      }
      if (jobs.length === 0) return [];
      // Each job's image, and whether it was answered already or its task expired.
      const pipe = this.redis.pipeline();
      for (const j of jobs) {
        pipe.hgetBuffer(imagesKey(j.data.taskId), String(j.data.index));
        pipe.hexists(resultsKey(j.data.taskId), String(j.data.index));
        pipe.exists(taskKey(j.data.taskId));
      }
      // Leases taken here run out by themselves and the jobs come back: nothing is decided on a partial reply.
      const replies = await exec(pipe, jobs.length * 3);
      const claimed: ClaimedItem[] = [];
      for (const [k, job] of jobs.entries()) {
        const bytes = replies[3 * k] as Buffer | null;
        const answered = replies[3 * k + 1] === 1;
        const taskExists = replies[3 * k + 2] === 1;
        const { taskId, index, filename } = job.data;
        let verdict: ItemResult | null = null;
        if (!answered && taskExists) {
          if (!bytes) verdict = { filename, error: 'the image was lost by the task store', error_code: 'failed' };
          else if (job.attemptsStarted > this.options.maxAttempts) {
            // Poison item: it took a worker down this many times. Report it, do not retry forever.
            verdict = { filename, error: `could not be processed after ${job.attemptsStarted - 1} attempts`, error_code: 'failed' };
          }
        }
        if (verdict) await this.record(taskId, index, verdict);
        if (verdict || answered || !taskExists) {
          // Nothing (more) to do: answered before (a lease that ran out after its result was written) or the task expired.
          await job.moveToCompleted(null, token, false).catch(() => {});
          continue;
        }
        this.held.set(`${taskId}/${index}`, { job, token });
        claimed.push({ taskId, index, filename, bytes: bytes!, attempts: job.attemptsStarted });
      }
      return claimed;
    });
  }

  recordArgs(taskId: string, index: number, result: ItemResult) {
    const outcome = 'error' in result ? 'error' : 'ok';
    return [
      taskKey(taskId),
      resultsKey(taskId),
      imagesKey(taskId),
      ANSWERED_KEY,
      filesKey(taskId),
      index,
      JSON.stringify(result),
      Date.now(),
      this.options.ttlMs,
      outcome,
    ] as const;
  }

  private record(taskId: string, index: number, result: ItemResult): Promise<number> {
    return this.redis.recordResult(...this.recordArgs(taskId, index, result));
  }

  async complete(_workerId: string, results: { taskId: string; index: number; result: ItemResult }[]): Promise<void> {
    // This process lets go of these leases whatever happens: on failure they run out and the images come back.
    const leases = results.map((r) => {
      const key = `${r.taskId}/${r.index}`;
      const lease = this.held.get(key);
      this.held.delete(key);
      return lease;
    });
    await this.guard(async () => {
      const pipe = this.redis.pipeline() as ReturnType<Redis['pipeline']> & { recordResult: (...args: unknown[]) => unknown };
      for (const r of results) pipe.recordResult(...this.recordArgs(r.taskId, r.index, r.result));
      await exec(pipe, results.length);
      // A lease that ran out was taken over; the result above is kept either way.
      await Promise.all(leases.map((lease) => lease?.job.moveToCompleted(null, lease.token, false).catch(() => {})));
    });
  }

  async release(_workerId: string): Promise<void> {
    await this.guard(async () => {
      await Promise.all([...this.held.values()].map(({ job, token }) => job.moveToWait(token).catch(() => {})));
      this.held.clear();
    });
  }

  /** Finished tasks expire by themselves (PEXPIRE TASK_TTL when they finish). */
  async purge(): Promise<number> {
    return 0;
  }

  async stats(): Promise<QueueStats> {
    return this.guard(async () => {
      const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const answered = await this.redis.hgetall(ANSWERED_KEY);
      return {
        pending: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
        processing: c.active ?? 0,
        answered: { ok: Number(answered.ok ?? 0), error: Number(answered.error ?? 0) },
      };
    });
  }

  async addFeedback(feedback: NewFeedback): Promise<FeedbackRecord> {
    const record: FeedbackRecord = { id: randomUUID(), created_at: Date.now(), ...feedback };
    await this.guard(async () => {
      const { image, task_id, filename, page_sha256, page_box, ...rest } = record;
      const fields: Record<string, string | number | Buffer> = { ...rest, image: Buffer.from(image) };
      if (task_id !== null) fields.task_id = task_id;
      if (filename !== null) fields.filename = filename;
      if (page_sha256 !== null) fields.page_sha256 = page_sha256;
      if (page_box !== null) fields.page_box = JSON.stringify(page_box);
      await exec(this.redis.multi().hset(feedbackKey(record.id), fields).rpush(FEEDBACK_IDS, record.id), 2);
    });
    return record;
  }

  async listFeedback(): Promise<FeedbackRecord[]> {
    return this.guard(async () => {
      const ids = await this.redis.lrange(FEEDBACK_IDS, 0, -1);
      const pipe = this.redis.pipeline();
      for (const id of ids) pipe.hgetallBuffer(feedbackKey(id));
      return (await exec(pipe, ids.length)).map((raw) => {
        const h = raw as Record<string, Buffer>;
        const text = (k: string) => h[k]?.toString('utf8') ?? null;
        return {
          id: text('id')!,
          created_at: Number(text('created_at')),
          image: new Uint8Array(h.image!),
          image_sha1: text('image_sha1')!,
          class_id: Number(text('class_id')),
          model_version: text('model_version')!,
          model_class_id: Number(text('model_class_id')),
          model_confidence: Number(text('model_confidence')),
          task_id: text('task_id'),
          filename: text('filename'),
          page_sha256: text('page_sha256'),
          page_box: h.page_box ? (JSON.parse(h.page_box.toString('utf8')) as PageBox) : null,
        };
      });
    });
  }

  async ping(): Promise<void> {
    // A write probe: a read-only replica or a full (maxmemory) Redis must show as unavailable.
    await this.guard(() => this.redis.set(`${PREFIX}:ping`, String(Date.now()), 'PX', 60_000));
  }

  async close(): Promise<void> {
    await this.worker?.close().catch(() => {});
    await this.queue.close().catch(() => {});
    this.workerRedis?.disconnect();
    this.redis.disconnect();
  }
}
