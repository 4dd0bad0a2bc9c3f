// `trainer serve`: a Fastify app over a loaded model. POST /predict takes an image (PNG/JPEG body, or
// JSON with a base64 `image` or a 28×28 `pixels` array), GET /health and GET /model report state, and
// GET / serves the drawing page.
import { DataverError } from '@dataver/foundation';
import Fastify, { type FastifyInstance } from 'fastify';
import { type BackendChoice, type BackendPreference, initBackend } from '../backend/select.js';
import { PIXELS, SIDE } from '../data/dataset.js';
import { decodeImage, normalizeInk, toMnist } from '../data/image.js';
import { countParams } from '../model/index.js';
import { loadModel } from '../model/io.js';
import { predictNormalized } from '../predict.js';
import { DRAWING_PAGE } from './page.js';

/** Options of {@link createServer}. */
export interface ServeOptions {
  modelDir: string;
  threshold?: number;
  backend?: BackendPreference;
  /** Fastify request logging [false]. */
  logger?: boolean;
}

function pixelsToInk(pixels: unknown): Float32Array {
  const flat = Array.isArray(pixels) && Array.isArray(pixels[0]) ? (pixels as unknown[][]).flat() : pixels;
  const ok =
    Array.isArray(pixels) &&
    Array.isArray(flat) &&
    flat.length === PIXELS &&
    (!Array.isArray(pixels[0]) ||
      (pixels.length === SIDE &&
        (pixels as unknown[][]).every((r) => Array.isArray(r) && r.length === SIDE))) &&
    flat.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!ok)
    throw new DataverError(
      'IMAGE_INVALID',
      '`pixels` must be a 28×28 array (or 784 numbers) of finite numbers',
    );
  const values = flat as number[];
  const max = Math.max(...values);
  const scale = max > 1.5 ? 1 / 255 : 1;
  return Float32Array.from(values, (v) => Math.min(1, Math.max(0, v * scale)));
}

/**
 * Builds the Fastify app with the model loaded (call `listen` on it).
 *
 * @example
 * ```ts
 * const { app } = await createServer({ modelDir: 'models/latest' });
 * await app.listen({ port: 8080 });
 * ```
 */
export async function createServer(
  opts: ServeOptions,
): Promise<{ app: FastifyInstance; backend: BackendChoice }> {
  const backend = await initBackend(opts.backend);
  const { model, manifest } = loadModel(opts.modelDir);
  const threshold = opts.threshold ?? 0.7;
  const params = countParams(model);
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 10 * 1024 * 1024 });
  app.addContentTypeParser(
    ['image/png', 'image/jpeg', 'application/octet-stream'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );
  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
    const status = error instanceof DataverError ? 400 : (error.statusCode ?? 500);
    void reply.status(status).send({ error: error.message });
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DRAWING_PAGE));
  app.get('/health', async () => ({
    status: 'ok',
    model: manifest.architecture.name,
    backend: backend.name,
  }));
  app.get('/model', async () => ({
    architecture: manifest.architecture.name,
    parameters: params.trainable,
    classes: manifest.classes,
    normalization: manifest.normalization,
    backend: backend.name,
    threshold,
  }));
  app.post('/predict', async (req) => {
    let ink: Float32Array;
    const body = req.body as unknown;
    if (Buffer.isBuffer(body)) {
      ink = toMnist(await decodeImage(body, 'request body'), 'request body');
    } else if (
      body &&
      typeof body === 'object' &&
      'image' in body &&
      typeof (body as { image: unknown }).image === 'string'
    ) {
      const s = (body as { image: string }).image;
      const b64 = s.startsWith('data:') ? s.slice(s.indexOf(',') + 1) : s;
      ink = toMnist(await decodeImage(Buffer.from(b64, 'base64'), 'image'), 'image');
    } else if (body && typeof body === 'object' && 'pixels' in body) {
      ink = pixelsToInk((body as { pixels: unknown }).pixels);
    } else {
      throw new DataverError(
        'IMAGE_INVALID',
        'send a PNG/JPEG body, or JSON with `image` (base64) or `pixels` (28×28)',
      );
    }
    // All classes ranked once: the first three are the answer's top-k, all of them feed the page's bars.
    const [all] = predictNormalized(model, normalizeInk(ink, manifest.normalization), 1, {
      topK: manifest.classes,
      threshold,
    });
    if (!all) throw new Error('no prediction for one image');
    const probabilities = new Array<number>(manifest.classes).fill(0);
    for (const t of all.top) probabilities[t.class] = t.probability;
    const p = { ...all, top: all.top.slice(0, 3) };
    return { ...p, probabilities, threshold };
  });
  app.addHook('onClose', async () => model.dispose());
  return { app, backend };
}
