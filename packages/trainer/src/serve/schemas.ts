// The route schemas (TypeBox, i.e. JSON Schema): Fastify validates requests and serializes answers with
// them, @fastify/swagger turns them into the OpenAPI document behind /docs and /redoc, and the handlers'
// types are derived from them, so the contract, the checks and the code cannot drift apart.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { DATA_URL_PATTERN } from './data-url.js';

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A file part or raw body: bytes, which the multipart parser hands over as a binary string. */
const binary = (description: string) => Type.String({ format: 'binary', description });

/** The sizes that the schemas encode. */
export interface SchemaSizes {
  classes: number;
  maxBatchItems: number;
}

/**
 * Every request and answer schema of the API.
 *
 * @example
 * ```ts
 * const s = routeSchemas({ classes: 10, maxBatchItems: 64 });
 * app.post('/predict-drawing', { schema: { body: s.drawingBody } }, handler);
 * ```
 */
export function routeSchemas(sizes: SchemaSizes) {
  const error = Type.Object(
    {
      error: Type.String({ description: 'stable name of the error, e.g. `image_too_large`' }),
      message: Type.String({ description: 'one line saying what was wrong' }),
    },
    { $id: 'Error', title: 'Error' },
  );
  const model = Type.Object(
    {
      name: Type.String({ description: 'architecture, e.g. `cnn-small`' }),
      weights_sha256: Type.String({ description: 'SHA-256 of the weights file' }),
    },
    { description: 'the model that answered' },
  );
  const prediction = {
    prediction: Type.Integer({
      minimum: 0,
      maximum: sizes.classes - 1,
      description: 'the most probable digit',
    }),
    confidence: Type.Number({ minimum: 0, maximum: 1, description: 'probability of `prediction`' }),
    probabilities: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), {
      minItems: sizes.classes,
      maxItems: sizes.classes,
      description: 'probability of every class, in class order; they sum to 1',
    }),
    low_confidence: Type.Boolean({ description: '`confidence` is below the server’s threshold' }),
  };
  const latency = Type.Number({ description: 'time the server spent on the request, in milliseconds' });
  const predictionAnswer = Type.Object(
    { ...prediction, model, latency_ms: latency },
    { title: 'Prediction' },
  );
  const batchAnswer = Type.Object(
    {
      predictions: Type.Array(Type.Object(prediction), { description: 'one per image, in request order' }),
      model,
      latency_ms: latency,
    },
    { title: 'BatchPrediction' },
  );
  const dataUrl = Type.String({
    pattern: DATA_URL_PATTERN,
    description: 'a PNG or JPEG as a base64 data URL, e.g. from `canvas.toDataURL()`',
  });
  const errors = { '4xx': Type.Ref('Error'), '5xx': Type.Ref('Error') };
  const counts = Type.Object({
    trainable: Type.Integer(),
    non_trainable: Type.Integer(),
    total: Type.Integer(),
  });
  const modelInfo = Type.Object(
    {
      name: Type.String({ description: 'architecture' }),
      architecture: Type.String({ description: 'the same as `name` (kept for older clients)' }),
      parameters: Type.Integer({ description: 'trainable parameters' }),
      parameter_counts: counts,
      classes: Type.Integer(),
      weights_sha256: Type.String(),
      threshold: Type.Number({ description: 'low-confidence threshold' }),
      accuracy: Type.Object(
        {
          test: nullable(Type.Number({ description: 'on the test split after training' })),
          validation: nullable(Type.Number({ description: 'best validation accuracy' })),
          evaluation: nullable(Type.Number({ description: 'from the evaluation report, when one is given' })),
        },
        { description: 'fractions in [0, 1]' },
      ),
      sweep: Type.Optional(
        Type.Record(Type.String(), Type.Unknown(), {
          description: 'summary of the evaluation report’s rotation sweep, when it has one',
        }),
      ),
      normalization: Type.Object({ mean: Type.Number(), std: Type.Number() }),
      lineage: Type.Object(
        {
          status: Type.String({ description: 'clean, dirty, revision or unknown' }),
          rev: nullable(Type.String()),
          outputs: Type.Array(Type.Object({ path: Type.String(), hash: Type.String() }), {
            description: 'the training data as locked in data.lock.json',
          }),
        },
        { description: 'where the training data came from' },
      ),
      backend: Type.String({ description: 'TensorFlow.js backend' }),
      backend_reason: Type.String(),
      created: nullable(Type.String({ description: 'when the model was trained (ISO 8601)' })),
    },
    { title: 'ModelInfo' },
  );
  return {
    error,
    predictionAnswer,
    batchAnswer,
    modelInfo,
    errors,
    uploadBody: Type.Object({ file: binary('a PNG or JPEG of a digit, any size or colour') }),
    legacyJsonBody: Type.Object(
      {
        image: Type.Optional(Type.String({ description: 'a data URL or bare base64 PNG/JPEG' })),
        pixels: Type.Optional(
          Type.Array(Type.Union([Type.Number(), Type.Array(Type.Number())]), {
            description: '28 rows of 28 numbers, or 784 numbers (0–1 or 0–255)',
          }),
        ),
      },
      { description: 'older JSON form, kept for existing clients' },
    ),
    rawBody: binary('the image bytes themselves (Content-Type image/png or image/jpeg)'),
    drawingBody: Type.Object({ image: dataUrl }),
    batchUploadBody: Type.Object({
      files: Type.Array(binary('one image'), { minItems: 1, maxItems: sizes.maxBatchItems }),
    }),
    batchJsonBody: Type.Object({
      images: Type.Array(dataUrl, { minItems: 1, maxItems: sizes.maxBatchItems }),
    }),
    health: Type.Object({ status: Type.Literal('ok') }),
    ready: Type.Object({ status: Type.Literal('ready'), model: Type.String(), backend: Type.String() }),
  };
}

/** The schemas' objects, for types. */
export type RouteSchemas = ReturnType<typeof routeSchemas>;
/** An answer to one image. */
export type PredictionAnswer = Static<RouteSchemas['predictionAnswer']>;
/** GET /model-info. */
export type ModelInfo = Static<RouteSchemas['modelInfo']>;
