// `trainer serve`: the Fastify app of the digit service. It listens at once (liveness), loads the model
// in worker threads (readiness once warmed up), validates every request against the route schemas,
// refuses oversized or hostile input with a 4xx `{error, message}`, logs one structured line per request,
// exports Prometheus metrics and drains requests in flight on shutdown.
import { DataverError, ERROR_CODES, type ErrorCode } from '@dataver/foundation';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { readManifest } from '../model/io.js';
import { DecodePool } from './decode-pool.js';
import { registerDocs, registerOpenApi } from './docs.js';
import { ApiError, toApiError } from './http-errors.js';
import { InferencePool } from './inference-pool.js';
import { ServeMetrics } from './metrics.js';
import { readModelInfo } from './model-info.js';
import { parseMultipart } from './multipart.js';
import { defaultServeOptions, type ServeLimits, type ServeOptions } from './options.js';
import { DRAWING_PAGE } from './page.js';
import { registerPredictRoutes } from './predict-routes.js';
import { Predictor } from './predictor.js';
import { routeSchemas } from './schemas.js';

/** What {@link createServer} takes: the model directory, and any setting to change from its default. */
export type CreateServerOptions = Partial<Omit<ServeOptions, 'limits'>> & {
  modelDir: string;
  limits?: Partial<ServeLimits>;
};

/** A created server. */
export interface DigitServer {
  app: FastifyInstance;
  /** Resolves once the model workers are up and warmed; rejects when they cannot start. */
  ready: Promise<void>;
  /** Stops taking requests, answers those in flight, stops the workers. */
  shutdown(): Promise<void>;
}

function isErrorCode(code: string): code is ErrorCode {
  return code in ERROR_CODES;
}

/**
 * Builds the app; call `app.listen` on it, and await `ready` for the model.
 *
 * @example
 * ```ts
 * const server = await createServer({ modelDir: 'models/latest' });
 * await server.app.listen({ port: 8000, host: '0.0.0.0' });
 * await server.ready;
 * ```
 */
export async function createServer(options: CreateServerOptions): Promise<DigitServer> {
  const defaults = defaultServeOptions();
  const opts: ServeOptions = { ...defaults, ...options, limits: { ...defaults.limits, ...options.limits } };
  const { limits } = opts;
  // Problems with the model folder stop the command before it listens.
  const manifest = readManifest(opts.modelDir);
  const info = readModelInfo(opts.modelDir, manifest, {
    threshold: opts.threshold,
    reportDir: opts.reportDir,
  });
  const schemas = routeSchemas({ classes: manifest.classes, maxBatchItems: limits.maxBatchItems });
  const model = { name: manifest.architecture.name, weights_sha256: manifest.weightsSha256 };

  let inference: InferencePool | null = null;
  const decodePool = new DecodePool({
    size: opts.decodeWorkers,
    limits,
    timeoutMs: limits.decodeTimeoutMs,
    maxQueue: Math.max(16, Math.ceil(limits.maxQueue / 16)),
  });
  const metrics = new ServeMetrics(() => (inference?.queued ?? 0) + decodePool.queued);
  let predictor: Predictor | null = null;
  let draining = false;

  const app = Fastify({
    logger: { level: opts.logLevel },
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    bodyLimit: limits.maxBodyBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // `format: binary` marks uploads in the schemas; the multipart parser hands them over as strings.
    ajv: { customOptions: { formats: { binary: true } } },
  });

  // Only the types the routes take: text/plain and the like are refused with 415 up front.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseMultipart(body as Buffer, req.headers['content-type'] ?? '', limits.maxBatchItems + 8));
    } catch (error) {
      done(error as Error);
    }
  });
  for (const type of [/^image\/[\w.+-]+$/, 'application/octet-stream'])
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Callback hooks (not async ones): no promise per request on the hot path.
  app.addHook('onRequest', (_req, reply, done) => {
    metrics.started();
    // 'close' comes for answered and for aborted requests alike: in-flight never leaks.
    reply.raw.once('close', () => {
      const route = reply.request.routeOptions.url ?? 'unmatched';
      metrics.request(route, reply.request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
    done();
  });
  // While draining, each answer closes its connection: keep-alive clients cannot hold the shutdown up.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const line = {
      method: req.method,
      url: req.url,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    // Probes and scrapes come every few seconds: keep them out of the info log.
    if (route === '/health' || route === '/ready' || route === '/metrics') req.log.debug(line, 'request');
    else req.log.info(line, 'request');
    done();
  });
  app.setErrorHandler((error, req, reply) => {
    const answer = toApiError(error);
    if (answer.error === 'internal_error') req.log.error({ err: error }, 'request failed');
    void reply.status(answer.status).send({ error: answer.error, message: answer.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  await registerOpenApi(app, require('../../package.json').version as string);
  app.addSchema(schemas.error);
  const service = { tags: ['service'] };

  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(DRAWING_PAGE),
  );
  app.get(
    '/health',
    { schema: { ...service, summary: 'Liveness: the process answers', response: { 200: schemas.health } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/ready',
    {
      schema: {
        ...service,
        summary: 'Readiness: the model is loaded and warmed up (503 before, and while shutting down)',
        response: { 200: schemas.ready, ...schemas.errors },
      },
    },
    async () => {
      if (draining) throw new ApiError(503, 'not_ready', 'the server is shutting down');
      if (!predictor) throw new ApiError(503, 'not_ready', 'the model is loading');
      return { status: 'ready' as const, model: model.name, backend: info.backend };
    },
  );
  for (const url of ['/model-info', '/model'])
    app.get(
      url,
      {
        schema: {
          ...service,
          summary: url === '/model' ? 'The same as /model-info (kept for older clients)' : 'The served model',
          description:
            'Architecture, parameters, accuracy (and the rotation sweep of the evaluation report, when given), normalization, training-data lineage, backend, creation time.',
          response: { 200: schemas.modelInfo, ...schemas.errors },
        },
      },
      async () => info,
    );
  app.get(
    '/metrics',
    { schema: { ...service, summary: 'Prometheus metrics (text format)' } },
    async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()),
  );
  registerPredictRoutes(app, {
    schemas,
    limits,
    threshold: opts.threshold,
    model,
    metrics,
    predictor: () => {
      if (!predictor) throw new ApiError(503, 'not_ready', 'the model is loading; retry in a moment');
      return predictor;
    },
  });
  await registerDocs(app);

  const ready = InferencePool.start({
    modelDir: opts.modelDir,
    backend: opts.backend,
    workers: Math.max(1, opts.workers),
    maxBatch: opts.maxBatch,
    maxQueue: limits.maxQueue,
    limits,
    classes: manifest.classes,
    onBatch: (size) => metrics.batch(size),
    onWorkerExit: (message) => app.log.error(message),
  }).then(
    (pool) => {
      inference = pool;
      info.backend = pool.backend.name;
      info.backend_reason = pool.backend.reason;
      metrics.model(model.name, model.weights_sha256, pool.backend.name);
      predictor = new Predictor(pool, decodePool, limits, opts.fastLanePixels);
    },
    (error: Error & { code?: unknown }) => {
      const code =
        typeof error.code === 'string' && isErrorCode(error.code) ? error.code : 'MODEL_INCOMPATIBLE';
      throw new DataverError(code, `cannot load the model: ${error.message}`);
    },
  );
  // Whoever awaits `ready` sees the failure; the app itself must not crash on an unobserved rejection.
  ready.catch(() => {});

  return {
    app,
    ready,
    async shutdown() {
      draining = true;
      await app.close();
      await Promise.all([inference?.close(), decodePool.close()]);
    },
  };
}
