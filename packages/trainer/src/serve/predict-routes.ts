// POST /predict (multipart `file`, a raw image body, or the older JSON form), POST /predict-drawing
// (a canvas data URL) and POST /predict-batch (several files or data URLs): bytes out of the request,
// through the predictor, into the answer.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PIXELS, SIDE } from '../data/dataset.js';
import { dataUrlBytes } from './data-url.js';
import { ApiError } from './http-errors.js';
import type { ServeMetrics } from './metrics.js';
import type { ServeLimits } from './options.js';
import { type PredictionFields, type Predictor, predictionFields, type RequestImage } from './predictor.js';
import type { RouteSchemas } from './schemas.js';

/** What the predict routes need. */
export interface PredictRoutesContext {
  schemas: RouteSchemas;
  limits: ServeLimits;
  threshold: number;
  model: { name: string; weights_sha256: string };
  metrics: ServeMetrics;
  /** The predictor once the model workers are up; null while starting (answers 503). */
  predictor: () => Predictor;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value);
}

function pixelsToInk(pixels: ReadonlyArray<number | number[]>): Float32Array {
  const rows = pixels.every(Array.isArray);
  const flat = pixels.flat();
  const ok =
    flat.length === PIXELS &&
    (rows
      ? pixels.length === SIDE && pixels.every((r) => Array.isArray(r) && r.length === SIDE)
      : pixels.every((v) => !Array.isArray(v))) &&
    flat.every(Number.isFinite);
  if (!ok)
    throw new ApiError(
      400,
      'bad_request',
      '`pixels` must be a 28×28 array (or 784 numbers) of finite numbers',
    );
  let max = 0;
  for (const v of flat) if (v > max) max = v;
  const scale = max > 1.5 ? 1 / 255 : 1;
  // A plain loop: Float32Array.from with a map function costs 0.3 µs a pixel, as much as the model.
  const ink = new Float32Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) ink[i] = Math.min(1, Math.max(0, (flat[i] as number) * scale));
  return ink;
}

/**
 * Adds the three predict routes.
 *
 * @example
 * ```ts
 * registerPredictRoutes(app, { schemas, limits, threshold: 0.7, model, metrics, predictor: () => p });
 * ```
 */
export function registerPredictRoutes(fastify: FastifyInstance, ctx: PredictRoutesContext): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { schemas, limits } = ctx;
  const answer = (rows: Float32Array[]): PredictionFields[] =>
    rows.map((row) => {
      const fields = predictionFields(row, ctx.threshold);
      ctx.metrics.prediction(fields.prediction, fields.low_confidence);
      return fields;
    });
  const latency = (elapsed: number) => Math.round(elapsed * 1000) / 1000;
  const one = async (images: RequestImage[], elapsed: () => number) => {
    const [fields] = answer(await ctx.predictor().classify(images));
    if (!fields) throw new Error('no answer for one image');
    return { ...fields, model: ctx.model, latency_ms: latency(elapsed()) };
  };

  app.post(
    '/predict',
    {
      bodyLimit: limits.maxBodyBytes,
      schema: {
        tags: ['predict'],
        summary: 'Classify one uploaded image',
        description:
          'A multipart form upload with the image in field `file` (as `curl -F file=@digit.png`), or the image itself as the body (`Content-Type: image/png` or `image/jpeg`). PNG or JPEG, any size or colour; dark ink on light paper or the reverse.',
        body: {
          content: {
            'multipart/form-data': { schema: schemas.uploadBody },
            // Raw bodies are checked by the image header probe, not by a schema: `image/*` never equals a
            // request's own media type, so this entry documents them without validating a Buffer as a string.
            'image/*': { schema: schemas.rawBody },
            'application/json': { schema: schemas.legacyJsonBody },
          },
        },
        response: { 200: schemas.predictionAnswer, ...schemas.errors },
      },
    },
    async (req, reply) => {
      const body: unknown = req.body;
      const elapsed = () => reply.elapsedTime;
      if (Buffer.isBuffer(body)) return one([{ name: 'request body', bytes: body }], elapsed);
      if (!isRecord(body))
        throw new ApiError(400, 'bad_request', 'send a multipart form with field `file`, or an image body');
      if (typeof body['file'] === 'string')
        return one([{ name: 'file', bytes: Buffer.from(body['file'], 'latin1') }], elapsed);
      if (typeof body['image'] === 'string')
        return one([{ name: 'image', bytes: dataUrlBytes(body['image'], 'image', true) }], elapsed);
      if (Array.isArray(body['pixels'])) {
        const [fields] = answer(
          await ctx.predictor().classifyInk(pixelsToInk(body['pixels'] as Array<number | number[]>)),
        );
        if (!fields) throw new Error('no answer for one image');
        return { ...fields, model: ctx.model, latency_ms: latency(elapsed()) };
      }
      throw new ApiError(400, 'bad_request', 'send a multipart form with field `file`, or an image body');
    },
  );

  app.post(
    '/predict-drawing',
    {
      bodyLimit: limits.maxJsonBytes,
      schema: {
        tags: ['predict'],
        summary: 'Classify a drawing sent as a data URL',
        description:
          'JSON `{"image": "data:image/png;base64,…"}`, as the drawing page sends it (`canvas.toDataURL()`).',
        body: schemas.drawingBody,
        response: { 200: schemas.predictionAnswer, ...schemas.errors },
      },
    },
    async (req, reply) =>
      one([{ name: 'image', bytes: dataUrlBytes(req.body.image, 'image') }], () => reply.elapsedTime),
  );

  app.post(
    '/predict-batch',
    {
      bodyLimit: limits.maxBodyBytes,
      schema: {
        tags: ['predict'],
        summary: 'Classify several images in one request',
        description: `A multipart form with the images in repeated field \`files\`, or JSON \`{"images": [data URLs]}\`; at most ${limits.maxBatchItems} images. One bad image refuses the whole request, naming it.`,
        body: {
          content: {
            'multipart/form-data': { schema: schemas.batchUploadBody },
            'application/json': { schema: schemas.batchJsonBody },
          },
        },
        response: { 200: schemas.batchAnswer, ...schemas.errors },
      },
    },
    async (req, reply) => {
      const body: unknown = req.body;
      if (!isRecord(body))
        throw new ApiError(400, 'bad_request', 'send a multipart form with fields `files`, or JSON `images`');
      let images: RequestImage[];
      if (Array.isArray(body['files']))
        images = body['files'].map((f, i) => ({
          name: `files[${i}]`,
          bytes: Buffer.from(String(f), 'latin1'),
        }));
      else if (Array.isArray(body['images']))
        images = body['images'].map((url, i) => ({
          name: `images[${i}]`,
          bytes: dataUrlBytes(String(url), `images[${i}]`),
        }));
      else
        throw new ApiError(400, 'bad_request', 'send a multipart form with fields `files`, or JSON `images`');
      const predictions = answer(await ctx.predictor().classify(images));
      return { predictions, model: ctx.model, latency_ms: latency(reply.elapsedTime) };
    },
  );
}
