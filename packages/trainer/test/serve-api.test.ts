// `trainer serve` over real HTTP on a random port: every route of the contract, a course client's
// `curl -F file=@digit.png`, and every kind of bad input (multipart, data URLs, batches, bombs, truncated
// files, wrong types, huge bodies), each a 4xx `{error, message}` after which /health still answers fast.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digitPng, tmpDir, trainedModel } from './helpers/fixtures';
import { barPng, digitJpeg, jpegWithHeader, pngWithHeader } from './helpers/images';
import { API_ROUTES, type RunningServer, START_MS, startServer } from './helpers/server';

const LONG = 600_000;

let server: RunningServer;
let base: string;
let modelDir: string;
/** Median /health latency of the idle server, measured in this run. */
let healthBaseline = 0;

async function healthMs(): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${base}/health`);
  expect(r.status).toBe(200);
  await r.json();
  return performance.now() - t0;
}

/** /health right after a bad request: 100 ms, or 5× the idle baseline on a machine too loaded for that. */
async function expectHealthFast(): Promise<void> {
  expect(await healthMs()).toBeLessThan(Math.max(100, 5 * healthBaseline));
}

function form(fields: Array<[string, Buffer | string, string?]>): FormData {
  const f = new FormData();
  for (const [name, value, filename] of fields) {
    if (typeof value === 'string') f.append(name, value);
    else f.append(name, new Blob([value], { type: 'image/png' }), filename ?? 'digit.png');
  }
  return f;
}

async function post(route: string, body: BodyInit, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${route}`, { method: 'POST', body, headers });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: r.status, json };
}

const dataUrl = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;
const json = (value: unknown) => [JSON.stringify(value), { 'content-type': 'application/json' }] as const;

/** A bad request: the expected status and error name, a message, then a fast /health. */
async function expectRefused(
  result: Promise<{ status: number; json: Record<string, unknown> }>,
  status: number,
  error: string,
  message?: RegExp,
) {
  const r = await result;
  expect({ status: r.status, error: r.json['error'] }).toEqual({ status, error });
  expect(typeof r.json['message']).toBe('string');
  if (message) expect(r.json['message']).toMatch(message);
  await expectHealthFast();
}

function expectPrediction(body: Record<string, unknown>, label?: number) {
  if (label !== undefined) expect(body['prediction']).toBe(label);
  const probabilities = body['probabilities'] as number[];
  expect(probabilities).toHaveLength(10);
  expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(body['confidence']).toBe(Math.max(...probabilities));
  expect(typeof body['low_confidence']).toBe('boolean');
}

beforeAll(async () => {
  ({ modelDir } = await trainedModel());
  server = await startServer(modelDir);
  base = server.base;
  const samples: number[] = [];
  for (let i = 0; i < 7; i++) samples.push(await healthMs());
  healthBaseline = samples.sort((a, b) => a - b)[3]!;
}, LONG);

afterAll(async () => {
  await server?.stop();
});

describe('the contract', () => {
  test('GET /health, /ready, /model-info (and its older alias /model)', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/ready`)).json()).toEqual({
      status: 'ready',
      model: 'cnn-small',
      backend: 'wasm',
    });
    const info = await (await fetch(`${base}/model-info`)).json();
    const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
    expect(info).toMatchObject({
      name: 'cnn-small',
      parameters: 10982,
      classes: 10,
      weights_sha256: manifest.weightsSha256,
      normalization: manifest.normalization,
      backend: 'wasm',
      lineage: { status: expect.any(String), outputs: expect.any(Array) },
    });
    expect(info.accuracy.test).toBeGreaterThan(0.9);
    expect(info.sweep).toBeUndefined();
    expect(Date.parse(info.created)).not.toBeNaN();
    expect(await (await fetch(`${base}/model`)).json()).toEqual(info);
  });

  test('a course client: curl -F file=@digit.png …/predict', () => {
    const { png, label } = digitPng(0, { zoom: 3 });
    const file = path.join(tmpDir(), 'digit.png');
    fs.writeFileSync(file, png);
    const r = spawnSync('curl', ['-s', '-F', `file=@${file}`, `${base}/predict`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const body = JSON.parse(r.stdout);
    expectPrediction(body, label);
    expect(body.model).toEqual({
      name: 'cnn-small',
      weights_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(body.latency_ms).toBeGreaterThan(0);
  });

  test('POST /predict: multipart PNG and JPEG, a raw image body, the older JSON forms', async () => {
    const a = digitPng(1, { lightBackground: true, zoom: 5, colour: true });
    expectPrediction((await post('/predict', form([['file', a.png]]))).json, a.label);
    const j = digitJpeg(2);
    expectPrediction((await post('/predict', form([['file', j.jpeg, 'digit.jpg']]))).json, j.label);
    const raw = await post('/predict', a.png, { 'content-type': 'image/png' });
    expectPrediction(raw.json, a.label);
    expectPrediction((await post('/predict', ...json({ image: a.png.toString('base64') }))).json, a.label);
    const pixels = Array.from({ length: 28 }, () => new Array<number>(28).fill(0));
    for (let y = 4; y < 24; y++) pixels[y]![14] = 255;
    expectPrediction((await post('/predict', ...json({ pixels }))).json);
  });

  test('POST /predict-drawing with a 280×280 canvas-sized PNG data URL', async () => {
    const { png, label } = digitPng(3, { lightBackground: true, zoom: 10 });
    const r = await post('/predict-drawing', ...json({ image: dataUrl(png) }));
    expect(r.status).toBe(200);
    expectPrediction(r.json, label);
  });

  test('POST /predict-batch: multipart files and JSON data URLs, answers in request order', async () => {
    const digits = [4, 5, 6].map((i) => digitPng(i, { zoom: 2 }));
    const m = await post('/predict-batch', form(digits.map((d, i) => ['files', d.png, `d${i}.png`])));
    expect(m.status).toBe(200);
    const predictions = m.json['predictions'] as Array<Record<string, unknown>>;
    expect(predictions.map((p) => p['prediction'])).toEqual(digits.map((d) => d.label));
    for (const p of predictions) expectPrediction(p);
    const j = await post('/predict-batch', ...json({ images: digits.map((d) => dataUrl(d.png)) }));
    expect((j.json['predictions'] as Array<Record<string, unknown>>).map((p) => p['prediction'])).toEqual(
      digits.map((d) => d.label),
    );
  });

  test('concurrent requests share model calls (micro-batching) and all get their own answer', async () => {
    const digits = Array.from({ length: 48 }, (_, i) => digitPng(i % 12, { zoom: 1 }));
    const before = await metricValue('trainer_inference_batch_size_count');
    const answers = await Promise.all(digits.map((d) => post('/predict', form([['file', d.png]]))));
    for (const [i, a] of answers.entries()) expect(a.json['prediction']).toBe(digits[i]!.label);
    const calls = (await metricValue('trainer_inference_batch_size_count')) - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(digits.length);
  });

  test('GET /openapi.json is an OpenAPI 3 document generated from the route schemas', async () => {
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of API_ROUTES) expect(Object.keys(doc.paths)).toContain(p);
    const upload = doc.paths['/predict'].post.requestBody.content['multipart/form-data'].schema;
    expect(upload.properties.file).toMatchObject({ type: 'string', format: 'binary' });
    expect(upload.required).toEqual(['file']);
    expect(
      doc.paths['/predict-drawing'].post.requestBody.content['application/json'].schema.properties.image
        .pattern,
    ).toMatch(/^\^data:image/);
    const answer = doc.paths['/predict'].post.responses['200'].content['application/json'].schema;
    expect(Object.keys(answer.properties).sort()).toEqual(
      ['confidence', 'latency_ms', 'low_confidence', 'model', 'prediction', 'probabilities'].sort(),
    );
  });

  test('GET /metrics in Prometheus text format', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'http_requests_in_flight',
      'trainer_predictions_total',
      'trainer_low_confidence_predictions_total',
      'trainer_model_info',
    ])
      expect(text).toContain(name);
    expect(text).toMatch(/http_requests_total\{route="\/predict",method="POST",status="200"\} \d+/);
    expect(text).toMatch(
      /trainer_model_info\{name="cnn-small",weights_sha256="[0-9a-f]{64}",backend="wasm"\} 1/,
    );
  });

  test('one JSON log line per request on stdout', () => {
    const lines = server
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.find((l) => l.route === '/predict')).toMatchObject({
      method: 'POST',
      status: 200,
      ms: expect.any(Number),
    });
  });
});

async function metricValue(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('bad input: a 4xx {error, message}, and /health stays fast', () => {
  const { png } = digitPng(0, { zoom: 2 });

  test('bombs are refused from their header, in milliseconds', async () => {
    const bomb = pngWithHeader(10_000, 10_000, Buffer.alloc(1000));
    expect(bomb.length).toBeLessThan(2000);
    const t0 = performance.now();
    await expectRefused(post('/predict', form([['file', bomb]])), 422, 'image_too_large', /10000 × 10000/);
    // Generous: decoding it would take seconds and a gigabyte.
    expect(performance.now() - t0).toBeLessThan(1000);
    await expectRefused(
      post('/predict', jpegWithHeader(10_000, 10_000), { 'content-type': 'image/jpeg' }),
      422,
      'image_too_large',
    );
    await expectRefused(post('/predict-drawing', ...json({ image: dataUrl(bomb) })), 422, 'image_too_large');
    await expectRefused(
      post('/predict-batch', ...json({ images: [dataUrl(png), dataUrl(bomb)] })),
      422,
      'image_too_large',
      /images\[1\]/,
    );
    // A deflate bomb: a 64 × 64 header over 50 MB of zeros.
    const inflated = pngWithHeader(64, 64, Buffer.alloc(50 * 2 ** 20));
    await expectRefused(
      post('/predict', form([['file', inflated]])),
      422,
      'image_invalid',
      /more image data/,
    );
  });

  test('truncated, blank and wrong-type files', async () => {
    await expectRefused(
      post('/predict', form([['file', png.subarray(0, png.length / 2)]])),
      422,
      'image_invalid',
    );
    await expectRefused(post('/predict', form([['file', png.subarray(0, 20)]])), 422, 'image_invalid');
    const blank = pngWithHeader(28, 28, Buffer.alloc(28 * 29));
    await expectRefused(post('/predict', form([['file', blank]])), 422, 'image_blank');
    await expectRefused(
      post('/predict', form([['file', Buffer.from('GIF89a not really')]])),
      415,
      'unsupported_media_type',
    );
    await expectRefused(
      post('/predict', 'hello', { 'content-type': 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    await expectRefused(
      post('/predict', Buffer.alloc(0), { 'content-type': 'image/png' }),
      422,
      'image_invalid',
    );
  });

  test('malformed multipart bodies', async () => {
    await expectRefused(post('/predict', form([['other', png]])), 400, 'bad_request', /file/);
    await expectRefused(
      post(
        '/predict',
        form([
          ['file', png],
          ['file', png],
        ]),
      ),
      400,
      'bad_request',
    );
    const boundary = 'XyZ';
    const cut = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n`),
      png,
    ]);
    await expectRefused(
      post('/predict', cut, { 'content-type': `multipart/form-data; boundary=${boundary}` }),
      400,
      'bad_request',
      /truncated/,
    );
    await expectRefused(
      post('/predict', cut, { 'content-type': 'multipart/form-data' }),
      400,
      'bad_request',
      /boundary/,
    );
  });

  test('bad data URLs and JSON', async () => {
    await expectRefused(post('/predict-drawing', ...json({ image: 'hello' })), 400, 'bad_request');
    await expectRefused(
      post('/predict-drawing', ...json({ image: 'data:image/gif;base64,R0lGOD' })),
      400,
      'bad_request',
    );
    await expectRefused(
      post('/predict-drawing', ...json({ image: 'data:image/png;base64,!!!' })),
      400,
      'bad_request',
      /base64/,
    );
    await expectRefused(post('/predict-drawing', ...json({})), 400, 'bad_request', /image/);
    await expectRefused(
      post('/predict-drawing', '{"image": ', { 'content-type': 'application/json' }),
      400,
      'bad_request',
    );
    await expectRefused(post('/predict', ...json({ pixels: [[1, 2]] })), 400, 'bad_request', /28×28/);
  });

  test('bad batches', async () => {
    await expectRefused(post('/predict-batch', ...json({ images: [] })), 400, 'bad_request');
    await expectRefused(
      post('/predict-batch', ...json({ images: new Array(65).fill(dataUrl(png)) })),
      400,
      'bad_request',
    );
    await expectRefused(
      post(
        '/predict-batch',
        form([
          ['files', png],
          ['files', Buffer.from('nope')],
        ]),
      ),
      415,
      'unsupported_media_type',
      /files\[1\]/,
    );
  });

  test('huge bodies (sent with curl, which reads an answer that comes before the upload ends)', async () => {
    const dir = tmpDir();
    const huge = path.join(dir, 'huge.png');
    fs.writeFileSync(huge, Buffer.alloc(17 * 2 ** 20));
    const drawing = path.join(dir, 'drawing.json');
    fs.writeFileSync(drawing, JSON.stringify({ image: `data:image/png;base64,${'A'.repeat(5 * 2 ** 20)}` }));
    const curl = (route: string, type: string, file: string) => {
      const r = spawnSync(
        'curl',
        [
          '-s',
          '-w',
          '\n%{http_code}',
          '-H',
          `content-type: ${type}`,
          '--data-binary',
          `@${file}`,
          `${base}${route}`,
        ],
        { encoding: 'utf8' },
      );
      const [text = '', status = '0'] = r.stdout.split(/\n(?=\d+$)/);
      return Promise.resolve({ status: Number(status), json: JSON.parse(text) as Record<string, unknown> });
    };
    await expectRefused(curl('/predict', 'image/png', huge), 413, 'payload_too_large');
    await expectRefused(curl('/predict-drawing', 'application/json', drawing), 413, 'payload_too_large');
  });

  test('unknown routes and methods', async () => {
    const r = await fetch(`${base}/nope`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'not_found', message: 'no route GET /nope' });
    expect((await fetch(`${base}/predict`)).status).toBe(404);
  });

  test('a large image decodes off the main thread: /health answers while it is in flight', async () => {
    const big = pngWithHeader(4000, 4000, Buffer.alloc(4000 * 4001));
    let slowDone = false;
    const slow = post('/predict', form([['file', big]])).then((r) => {
      slowDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    await expectHealthFast();
    const r = await slow;
    expect(r.status).toBe(422); // it is all black: no digit
    expect(r.json['error']).toBe('image_blank');
    expect(slowDone).toBe(true);
  });
});

test(
  'an image that decodes for longer than --decode-timeout is abandoned (422) and the server goes on; --log-level warn',
  async () => {
    const strict = await startServer(modelDir, [
      '--decode-timeout',
      '1',
      '--workers',
      '1',
      '--log-level',
      'warn',
    ]);
    try {
      const big = barPng(3000, 3000);
      const r = await fetch(`${strict.base}/predict`, {
        method: 'POST',
        body: big,
        headers: { 'content-type': 'image/png' },
      });
      expect(r.status).toBe(422);
      expect((await r.json()).error).toBe('decode_timeout');
      const { png, label } = digitPng(0, { zoom: 2 });
      const ok = await fetch(`${strict.base}/predict`, {
        method: 'POST',
        body: png,
        headers: { 'content-type': 'image/png' },
      });
      expect((await ok.json()).prediction).toBe(label);
      // The replaced decode worker takes the next large image again.
      const again = await fetch(`${strict.base}/predict`, {
        method: 'POST',
        body: big,
        headers: { 'content-type': 'image/png' },
      });
      expect((await again.json()).error).toBe('decode_timeout');
    } finally {
      expect(await strict.stop()).toBe(0);
    }
    // --log-level warn: no request lines, and every line is JSON.
    const lines = strict.stdout().split('\n').filter(Boolean);
    expect(lines.filter((l) => l.includes('"msg":"request"'))).toEqual([]);
    for (const l of lines) expect(JSON.parse(l).level).toBeGreaterThanOrEqual(40);
  },
  LONG,
);

test(
  'SIGTERM: requests in flight are answered, then the server exits 0',
  async () => {
    const s = await startServer(modelDir);
    const { png, label } = digitPng(7, { zoom: 2 });
    // A request whose body is still arriving when SIGTERM comes: certainly in flight.
    const boundary = 'b0undary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.png"\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    let pushRest: (() => void) | null = null;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(head);
        pushRest = () => {
          controller.enqueue(png);
          controller.enqueue(tail);
          controller.close();
        };
      },
    });
    const inFlight = fetch(`${s.base}/predict`, {
      method: 'POST',
      body,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      duplex: 'half',
    } as RequestInit);
    const others = Array.from({ length: 8 }, () =>
      fetch(`${s.base}/predict`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const exit = s.stop();
    await new Promise((r) => setTimeout(r, 200));
    pushRest!();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect((await answer.json()).prediction).toBe(label);
    for (const r of await Promise.all(others)) expect(r.status).toBe(200);
    expect(await exit).toBe(0);
    expect(s.stdout()).toContain('shutting down');
    await expect(fetch(`${s.base}/health`)).rejects.toThrow();
  },
  LONG,
);

test('a missing model folder, or corrupt weights, is a one-line error and exit 3', () => {
  const serve = (dir: string) =>
    spawnSync(
      process.execPath,
      [require.resolve('../bin/trainer.js'), 'serve', '--model', dir, '--port', '0'],
      {
        encoding: 'utf8',
        timeout: START_MS,
      },
    );
  const missing = serve(tmpDir());
  expect(missing.status).toBe(3);
  expect(missing.stderr).toMatch(/^error: .*model\.json not found/m);
  expect(missing.stderr).not.toMatch(/listening on/);
  const corrupt = path.join(tmpDir(), 'model');
  fs.cpSync(modelDir, corrupt, { recursive: true });
  const weights = fs.readFileSync(path.join(corrupt, 'weights.bin'));
  weights[100] = weights[100]! ^ 0xff;
  fs.writeFileSync(path.join(corrupt, 'weights.bin'), weights);
  const r = serve(corrupt);
  expect(r.status).toBe(3);
  expect(r.stderr).toMatch(/^error: cannot load the model: .*weights\.bin does not match the hash/m);
});
