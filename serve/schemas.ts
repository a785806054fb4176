/**
 * The API's request and response schemas (zod): the single definition that
 * validates requests, checks responses in tests, and generates the OpenAPI
 * document served at /openapi.json.
 */
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { NUM_CLASSES } from '../pipeline/core/classes';

extendZodWithOpenApi(z);

export const ErrorResponse = z
  .object({ detail: z.string().openapi({ example: 'field "file" is missing: send the image as multipart/form-data field "file"' }) })
  .openapi('Error');

const Candidate = z
  .object({
    class_id: z
      .number()
      .int()
      .min(0)
      .max(NUM_CLASSES - 1),
    prediction: z.string().openapi({ example: 'あ' }),
    confidence: z.number().min(0).max(1),
  })
  .openapi('Candidate');

export const PredictQuery = z.object({
  top_k: z.coerce.number().int().min(1).max(NUM_CLASSES).default(5).openapi({ description: 'number of candidates in top_k (1..49)' }),
  include_image: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .openapi({ description: 'also return the 28x28 image the model saw (PNG, base64), after preprocessing' }),
});

export const PredictResponse = z
  .object({
    prediction: z.string().openapi({ example: 'あ' }),
    class_id: z.number().int(),
    confidence: z.number(),
    top_k: z.array(Candidate),
    model_version: z.string(),
    time_ms: z.number(),
    model_input_png: z.string().optional().openapi({ description: 'with include_image=true: data URL of the 28x28 model input' }),
    prediction_id: z.number().int().openapi({ description: "same as class_id (the FastAPI version's name for it)" }),
    character: z.string().openapi({ example: 'あ', description: "same as prediction (the FastAPI version's name for it)" }),
  })
  .openapi('PredictResponse');

const TaskId = z.string().uuid();

export const BatchAccepted = z
  .object({
    task_id: TaskId.openapi({ description: 'the whole batch: GET /tasks/{task_id} (also the Location header)' }),
    status: z.literal('processing'),
    message: z.literal('Queued').openapi({ description: 'for clients of the FastAPI version' }),
    task_ids: z.array(TaskId).openapi({
      description: "one id per uploaded file, in upload order: GET /tasks/{id} gives that file alone (the FastAPI version's per-file shape, FileTask)",
    }),
  })
  .openapi('BatchAccepted');

/** Why a file of a batch has no answer (the decoding error kinds, and 'failed' for a file that kept failing). */
const FILE_ERROR_CODES = ['unsupported', 'too_large', 'corrupt', 'empty', 'blank', 'failed'] as const;
export type FileErrorCode = (typeof FILE_ERROR_CODES)[number];

export const TaskResult = z
  .union([
    z.object({
      filename: z.string(),
      prediction: z.string(),
      class_id: z.number().int(),
      confidence: z.number(),
      model_version: z.string().optional().openapi({ description: 'the model that classified this file (absent in results stored before hot reload existed)' }),
    }),
    z.object({
      filename: z.string(),
      error: z.string(),
      error_code: z.enum(FILE_ERROR_CODES).optional().openapi({
        description:
          'why, for programs and translations: unsupported (not a raster image), too_large (over MAX_PIXELS), corrupt, empty, blank (no ink), failed (the file could not be processed after MAX_ATTEMPTS tries); absent in results stored before it existed',
      }),
    }),
  ])
  .openapi('TaskResult');

const TaskStatus = z.enum(['processing', 'completed', 'failed']);

export const TaskResponse = z
  .object({
    task_id: z.string().uuid(),
    status: TaskStatus,
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    results: z.array(TaskResult).openapi({ description: 'one entry per uploaded file, in upload order, when completed' }),
    error: z.string().optional(),
  })
  .openapi('Task');

/** One file's result in the FastAPI version's shape. */
const FileResult = z
  .union([
    z.object({ status: z.literal('success'), prediction_id: z.number().int(), character: z.string(), confidence: z.number() }),
    z.object({ status: z.literal('error'), message: z.string().openapi({ description: 'why this file could not be classified' }) }),
  ])
  .openapi('FileResult');

export const FileTaskResponse = z
  .union([
    z.object({ status: z.literal('processing') }),
    z.object({ status: z.literal('completed'), result: FileResult }),
    z.object({ status: z.literal('failed'), error: z.string() }),
  ])
  .openapi('FileTask', { description: "one file of a batch, by one of the ids in task_ids (the FastAPI version's per-file shape)" });

export const FeedbackFields = z
  .object({
    class_id: z.coerce
      .number()
      .int()
      .min(0)
      .max(NUM_CLASSES - 1)
      .optional()
      .openapi({ description: 'the right class, 0-48 (or give label)' }),
    label: z.string().optional().openapi({ description: 'the right character, one of the 49 (or give class_id)', example: 'す' }),
    task_id: TaskId.optional().openapi({ description: 'when correcting a batch result: its task' }),
    filename: z.string().max(255).optional().openapi({ description: 'when correcting a batch result: the file name as in the task results' }),
    page_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'the page_sha256 that POST /pages answered (64 hexadecimal digits)')
      .transform((v) => v.toLowerCase())
      .optional()
      .openapi({ description: "when correcting a character of a page: the page's page_sha256 from POST /pages (give page_box too)" }),
    page_box: z
      .string()
      .regex(/^\d{1,6},\d{1,6},\d{1,6},\d{1,6}$/, "the character's box on its page as 'x,y,w,h' (whole pixels, as POST /pages gave it)")
      .transform((v) => v.split(',').map(Number) as [number, number, number, number])
      .optional()
      .openapi({ description: "when correcting a character of a page: its box as 'x,y,w,h', as POST /pages gave it", example: '1492,579,137,140' }),
  })
  .strict();

export const FeedbackAccepted = z
  .object({
    id: z.string().uuid(),
    class_id: z.number().int(),
    label: z.string(),
    model_answer: z.object({ class_id: z.number().int(), prediction: z.string(), confidence: z.number(), model_version: z.string() }),
  })
  .openapi('FeedbackAccepted');

export const FeedbackStatsResponse = z
  .object({
    feedback: z.number().int().openapi({ description: 'every answer people gave (POST /feedback), the same image possibly more than once' }),
    corrections: z.number().int().openapi({ description: "of them, those naming another class than the model's answer" }),
    confirmations: z.number().int().openapi({ description: "of them, those confirming the model's answer" }),
    images: z.number().int().openapi({ description: 'distinct images (the same image corrected twice counts once, latest label)' }),
    per_class: z.array(z.object({ class_id: z.number().int(), char: z.string(), images: z.number().int() })),
    model_error_rate: z.number().nullable().openapi({ description: "share of corrected images where the model's answer was not the correction" }),
    by_model_version: z.record(z.string(), z.object({ images: z.number().int(), model_wrong: z.number().int() })),
  })
  .openapi('FeedbackStats');

export const TaskParams = z.object({
  task_id: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i, 'task and file ids are UUID v4')
    .openapi({ param: { name: 'task_id', in: 'path' }, example: '0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d' }),
});

const GroupFigure = z.object({
  classes: z.array(z.number().int()).openapi({ description: 'class ids of the group present in the evaluated set' }),
  mean_recall: z.number().nullable(),
  ci95: z.tuple([z.number(), z.number()]).nullable().optional().openapi({ description: '95 % class-stratified bootstrap interval of the mean recall' }),
});

const EvaluationGroups = z.object({ real_training_images: GroupFigure, no_real_training_images: GroupFigure });

export const HealthResponse = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    version: z.string(),
    model: z
      .object({
        version: z.string(),
        trained_on: z.string(),
        balanced_accuracy: z.number().nullable(),
        training_data: z.object({ name: z.string(), images: z.number().int() }).openapi({ description: 'the data set it was trained on' }),
        evaluation: z
          .object({
            data: z.string(),
            images: z.number().int(),
            accuracy: z.number(),
            balanced_accuracy: z.number(),
            groups: EvaluationGroups.nullable().openapi({
              description:
                'mean recall over the classes that had real training images labelled by people and over the others (null: the model does not record its training sources)',
            }),
          })
          .nullable()
          .openapi({ description: "the artifact's own evaluation (metrics.json): data set, plain and balanced accuracy, figures per group" }),
        model_card: z.string().openapi({ description: 'where the model card is served (/model)' }),
        loaded_at: z.string().openapi({ description: 'when this process loaded the model (ISO 8601); changes on a hot reload' }),
      })
      .nullable(),
    queue: z.object({ pending: z.number().int(), processing: z.number().int() }).nullable(),
    reason: z.string().optional(),
    mode: z.string().openapi({ description: 'NODE_ENV of the service (default production), as the FastAPI version reported it' }),
  })
  .openapi('Health');

export const BrowserModelResponse = z
  .object({
    id: z.string().openapi({ description: 'changes whenever the served network does (a hot reload): the files below are versioned by it' }),
    version: z.string().openapi({ description: "the served model's version, as /health reports it" }),
    manifest: z.string().openapi({ description: 'URL of the layers (JSON; cached for good: immutable)' }),
    weights: z.string().openapi({ description: 'URL of the weights (byte planes; cached for good: immutable)' }),
    weights_bytes: z.number().int(),
    mantissa_bits: z
      .number()
      .int()
      .openapi({ description: "float32 mantissa bits kept per weight (of 23): the page's probabilities stay within 1e-4 of the server's" }),
  })
  .openapi('BrowserModel');

export const PagesQuery = z.object({
  include_images: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .openapi({ description: 'also return, per character, the 28x28 image the model saw (PNG, base64)' }),
});

const PageCharacter = z
  .object({
    box: z
      .tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()])
      .openapi({ description: '[x, y, w, h] in pixels of the upright page' }),
    column: z.number().int().openapi({ description: 'column, counted from the right (reading order)' }),
    index: z.number().int().openapi({ description: 'place in the column, from the top' }),
    class_id: z.number().int(),
    character: z.string().openapi({ example: 'の' }),
    confidence: z.number(),
    top_k: z.array(Candidate),
    kind: z
      .enum(['hiragana', 'other'])
      .openapi({ description: "'other': a kanji, a mark or a fragment the model is unsure of (confidence under 0.5), or a piece too small to be a character" }),
    model_input_png: z.string().optional().openapi({ description: 'with ?include_images=true' }),
  })
  .openapi('PageCharacter');

export const PageResponse = z
  .object({
    width: z.number().int().openapi({ description: 'the page as sent (EXIF orientation applied), in pixels: the boxes are in these' }),
    height: z.number().int(),
    skew: z.number().openapi({
      description: 'degrees the page lay askew, clockwise (a photo held a little turned): it was turned upright before it was cut; 0 when it was cut as it is',
      example: 0,
    }),
    columns: z.array(z.object({ x: z.number().int(), width: z.number().int() })).openapi({ description: 'the columns of writing, right to left' }),
    characters: z.array(PageCharacter).openapi({ description: 'in reading order: columns right to left, each from the top' }),
    text: z.string().openapi({
      description: 'the hiragana in reading order, a column per line, 〓 for a character not read as hiragana',
      example: 'かくまつりしの〓\nやよひ',
    }),
    page_sha256: z.string().openapi({
      description:
        "SHA-256 of the file as sent: a correction of one of its characters (POST /feedback) gives it with the character's box, so that the export of corrections can check the character against the page scan",
    }),
    model_version: z.string(),
    time_ms: z.number(),
  })
  .openapi('Page');

const RootResponse = z.object({ status: z.literal('ok'), version: z.string() }).openapi('Root');

/** The response types, inferred from the schemas above: the one definition the routes, the task store and the web page use. */
export type ErrorResponse = z.infer<typeof ErrorResponse>;
export type PredictResponse = z.infer<typeof PredictResponse>;
export type BatchAccepted = z.infer<typeof BatchAccepted>;
export type TaskResult = z.infer<typeof TaskResult>;
export type TaskResponse = z.infer<typeof TaskResponse>;
export type FileTaskResponse = z.infer<typeof FileTaskResponse>;
export type FeedbackAccepted = z.infer<typeof FeedbackAccepted>;
export type FeedbackStatsResponse = z.infer<typeof FeedbackStatsResponse>;
export type HealthResponse = z.infer<typeof HealthResponse>;
export type PageResponse = z.infer<typeof PageResponse>;
export type EvaluationGroups = z.infer<typeof EvaluationGroups>;

const errors = (codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: ERROR_TEXT[c] ?? 'error', content: { 'application/json': { schema: ErrorResponse } } }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'missing or empty field, wrong field name, malformed task id or query',
  401: 'API_KEY is set on the server and X-API-Key is missing or wrong',
  404: 'unknown task or file id',
  409: 'the batch task being corrected has not completed yet',
  413: 'file, request or pixel count over the limit',
  415: 'not a raster image the service can decode (SVG and PDF are refused)',
  503: 'model or task store unavailable',
};

function multipart(field: string, many: boolean) {
  const file = z.string().openapi({ type: 'string', format: 'binary' });
  return {
    content: {
      'multipart/form-data': {
        schema: z.object({ [field]: many ? z.array(file) : file }),
      },
    },
  };
}

/** The OpenAPI 3 document, generated from the schemas above. */
/** The OpenAPI document; `version` is the project's (pipeline/core/version.ts), passed in so this module stays browser-safe (the web page imports its types). */
export function openApiDocument(version: string) {
  const r = new OpenAPIRegistry();
  // Both shapes of GET /tasks/{id} are named components (a zod union would inline one of them).
  r.register('Task', TaskResponse);
  r.register('FileTask', FileTaskResponse);
  r.registerPath({
    method: 'get',
    path: '/',
    summary: 'Web UI for browsers (Accept: text/html); service status for other clients',
    responses: {
      200: {
        description: 'status, or the web UI page',
        content: { 'application/json': { schema: RootResponse }, 'text/html': { schema: z.string() } },
      },
    },
  });
  r.registerPath({
    method: 'get',
    path: '/health',
    summary: 'Service, model and queue health',
    responses: {
      200: { description: 'healthy', content: { 'application/json': { schema: HealthResponse } } },
      503: { description: 'model or task store not usable', content: { 'application/json': { schema: HealthResponse } } },
    },
  });
  r.registerPath({
    method: 'post',
    path: '/predict',
    summary: 'Recognise one character image (synchronous)',
    request: { query: PredictQuery, body: multipart('file', false) },
    security: [{ ApiKey: [] }],
    responses: { 200: { description: 'prediction', content: { 'application/json': { schema: PredictResponse } } }, ...errors([400, 401, 413, 415, 503]) },
  });
  r.registerPath({
    method: 'post',
    path: '/pages',
    summary: 'Read a whole page scan: find each character, read it, and give the hiragana in reading order (synchronous)',
    description:
      'Limits: MAX_FILE_BYTES, MAX_PIXELS (413 over them), MAX_PAGE_CHARACTERS (413 for a page holding more); 415 for a file that is not a raster image; 400 for a page with no writing.',
    request: { query: PagesQuery, body: multipart('file', false) },
    security: [{ ApiKey: [] }],
    responses: { 200: { description: 'the page read', content: { 'application/json': { schema: PageResponse } } }, ...errors([400, 401, 413, 415, 503]) },
  });
  r.registerPath({
    method: 'post',
    path: '/batch_predict',
    summary: 'Queue many images for asynchronous recognition',
    request: { body: multipart('files', true) },
    security: [{ ApiKey: [] }],
    responses: {
      202: {
        description: 'accepted: the task and every image are durably stored; poll the Location',
        headers: { Location: { description: '/tasks/{task_id}', schema: { type: 'string' } } },
        content: { 'application/json': { schema: BatchAccepted } },
      },
      ...errors([400, 401, 413, 503]),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/tasks/{task_id}',
    summary: 'Status and results of a batch task (by task_id), or of one of its files (by an id of task_ids)',
    request: { params: TaskParams },
    responses: {
      200: {
        description: 'the task (Task) for a task_id; the one file (FileTask) for a per-file id',
        content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Task' }, { $ref: '#/components/schemas/FileTask' }] } } },
      },
      ...errors([400, 404, 503]),
    },
  });
  r.registerPath({
    method: 'post',
    path: '/feedback',
    summary: "Correct the model: the image and the right character (stored as training data with the model's own answer)",
    request: {
      body: {
        content: {
          'multipart/form-data': {
            schema: z.object({ file: z.string().openapi({ type: 'string', format: 'binary' }) }).extend(FeedbackFields.shape),
          },
        },
      },
    },
    security: [{ ApiKey: [] }],
    responses: {
      201: { description: 'stored', content: { 'application/json': { schema: FeedbackAccepted } } },
      ...errors([400, 401, 404, 409, 413, 415, 503]),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/feedback/stats',
    summary: 'Corrections so far: per class, and how often the corrected model was wrong',
    responses: { 200: { description: 'statistics', content: { 'application/json': { schema: FeedbackStatsResponse } } }, ...errors([503]) },
  });
  r.registerPath({
    method: 'get',
    path: '/model',
    summary: "The served model's card (its MODEL_CARD.md, rendered): data, recipe, every measured figure",
    responses: { 200: { description: 'the model card', content: { 'text/html': { schema: z.string() } } }, ...errors([404, 503]) },
  });
  r.registerPath({
    method: 'get',
    path: '/model/browser.json',
    summary: 'The served network for the web page to run itself (in-browser recognition): where its files are',
    responses: { 200: { description: 'the current files', content: { 'application/json': { schema: BrowserModelResponse } } }, ...errors([503]) },
  });
  r.registerPath({
    method: 'get',
    path: '/model/{id}/{file}',
    summary: "A file of the in-browser model (manifest.json or weights.bin) of /model/browser.json's id; 404 once the server serves another model",
    request: { params: z.object({ id: z.string(), file: z.enum(['manifest.json', 'weights.bin']) }) },
    responses: {
      200: { description: 'the file (gzip when accepted)', content: { 'application/octet-stream': { schema: z.string() } } },
      ...errors([404, 503]),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format): requests, latency, inference, batching, queue',
    responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
  });
  r.registerComponent('securitySchemes', 'ApiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'Required on POST endpoints only when the server runs with API_KEY set.',
  });
  return new OpenApiGeneratorV3(r.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'K49 hiragana recognition API',
      version,
      description:
        'Recognises handwritten classical Japanese hiragana (Kuzushiji-49, 49 classes). Errors are JSON `{"detail": "..."}`. ' +
        'Limits (environment): MAX_FILE_BYTES, MAX_BATCH_FILES, MAX_REQUEST_BYTES, MAX_PIXELS.',
    },
  });
}
