// API documentation from the route schemas, all of it served from local npm packages so that it works
// offline: the OpenAPI 3 document (@fastify/swagger) at /openapi.json, Swagger UI (@fastify/swagger-ui,
// which ships swagger-ui-dist's files) at /docs, and ReDoc's standalone bundle (redoc) at /redoc.
import * as fs from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Digit classifier API — ReDoc</title>
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="redoc/redoc.standalone.js"></script>
</body>
</html>
`;

// ReDoc's sidebar shows a logo from its CDN; this policy keeps the page on this server (the image is
// simply not shown), and allows the inline styles and the blob: search worker that ReDoc uses.
const REDOC_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
].join('; ');

/**
 * Registers the OpenAPI generator; call before the routes are added.
 *
 * @example
 * ```ts
 * await registerOpenApi(app, '0.1.0');
 * ```
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Digit classifier API',
        description:
          'Classifies handwritten digits (Corrupt MNIST) with the trained CNN. Errors are always `{error, message}`; client mistakes are 4xx.',
        version,
      },
      tags: [
        { name: 'predict', description: 'classify images' },
        { name: 'service', description: 'health, readiness, model and metrics' },
      ],
    },
  });
}

/**
 * Adds /openapi.json, /docs (Swagger UI) and /redoc (ReDoc).
 *
 * @example
 * ```ts
 * await registerDocs(app);
 * ```
 */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true }, staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const redocBundle = require.resolve('redoc/bundles/redoc.standalone.js');
  app.get('/redoc', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', REDOC_CSP).send(REDOC_PAGE),
  );
  app.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .send(fs.createReadStream(redocBundle)),
  );
}
