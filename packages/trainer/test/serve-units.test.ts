// Pure pieces of the server: the multipart parser against bodies that real clients (undici's FormData)
// write, data URLs, the answer fields, and /model-info from a model folder with and without an
// evaluation report (its rotation sweep shown when present, left out when not).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { readManifest } from '../src/model/io';
import { dataUrlBytes } from '../src/serve/data-url';
import { ApiError, toApiError } from '../src/serve/http-errors';
import { readModelInfo, summarizeSweep } from '../src/serve/model-info';
import { parseMultipart } from '../src/serve/multipart';
import { predictionFields } from '../src/serve/predictor';
import { tmpDir, trainedModel } from './helpers/fixtures';

const LONG = 600_000;

/** A multipart body as fetch's FormData serializes it, with its content type. */
async function formBody(
  fields: Array<[string, Uint8Array | string]>,
): Promise<{ body: Buffer; type: string }> {
  const form = new FormData();
  for (const [name, value] of fields)
    form.append(
      name,
      typeof value === 'string' ? value : new Blob([value]),
      typeof value === 'string' ? undefined : 'f.bin',
    );
  const r = new Response(form);
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type')! };
}

describe('parseMultipart', () => {
  test('round-trips any bytes and repeated fields from a real FormData body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('file', 'files', 'x'), fc.uint8Array({ maxLength: 300 })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (fields) => {
          const { body, type } = await formBody(fields);
          const parsed = parseMultipart(body, type, 10);
          const expected: Record<string, string[]> = {};
          for (const [name, bytes] of fields) {
            const values = expected[name] ?? [];
            values.push(Buffer.from(bytes).toString('latin1'));
            expected[name] = values;
          }
          for (const [name, values] of Object.entries(expected))
            expect(parsed[name]).toEqual(values.length === 1 ? values[0] : values);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('refuses a missing boundary, a cut body, a part without a name and too many parts', async () => {
    const { body, type } = await formBody([
      ['file', new Uint8Array([1, 2, 3])],
      ['file', new Uint8Array([4])],
    ]);
    const status = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof ApiError ? `${error.status} ${error.message}` : String(error);
      }
      return 'parsed';
    };
    expect(status(() => parseMultipart(body, 'multipart/form-data', 10))).toMatch(/^400 .*boundary/);
    expect(status(() => parseMultipart(body.subarray(0, body.length - 20), type, 10))).toMatch(
      /^400 .*truncated/,
    );
    expect(status(() => parseMultipart(body, type, 1))).toMatch(/^413 .*more than 1 parts/);
    const boundary = /boundary=(.+)$/.exec(type)![1];
    const nameless = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--${boundary}--\r\n`,
    );
    expect(status(() => parseMultipart(nameless, type, 10))).toMatch(/^400 .*name/);
  });
});

test('data URLs: base64 PNG/JPEG only', () => {
  expect(dataUrlBytes('data:image/png;base64,AAEC', 'image')).toEqual(Buffer.from([0, 1, 2]));
  expect(() => dataUrlBytes('data:text/plain;base64,AAEC', 'image')).toThrow(/only base64 PNG or JPEG/);
  expect(() => dataUrlBytes('AAEC', 'image')).toThrow(/must be a data:image/);
  expect(dataUrlBytes('AAEC', 'image', true)).toEqual(Buffer.from([0, 1, 2]));
  expect(() => dataUrlBytes('data:image/png;base64,A A', 'image')).toThrow(/not valid base64/);
});

test('answer fields: the most probable class, its probability, all of them, the threshold flag', () => {
  const p = Float32Array.from([0.1, 0.6, 0.3]);
  expect(predictionFields(p, 0.7)).toEqual({
    prediction: 1,
    confidence: p[1],
    probabilities: Array.from(p),
    low_confidence: true,
  });
  expect(predictionFields(p, 0.5).low_confidence).toBe(false);
});

test('unknown errors become a 500 that reveals nothing; Fastify client errors keep their 4xx', () => {
  expect(toApiError(new Error('secret path /etc/x'))).toMatchObject({
    status: 500,
    error: 'internal_error',
    message: 'internal error',
  });
  expect(
    toApiError(Object.assign(new Error('too big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' })),
  ).toMatchObject({
    status: 413,
    error: 'payload_too_large',
  });
  expect(toApiError(Object.assign(new Error('bad json'), { statusCode: 400 }))).toMatchObject({
    status: 400,
  });
});

describe('/model-info', () => {
  let modelDir: string;
  beforeAll(async () => {
    ({ modelDir } = await trainedModel());
  }, LONG);

  test('from the model folder alone: no evaluation accuracy, no sweep', () => {
    const info = readModelInfo(modelDir, readManifest(modelDir), { threshold: 0.7 });
    expect(info.accuracy.evaluation).toBeNull();
    expect(info.accuracy.test).toBeGreaterThan(0.9);
    expect('sweep' in info).toBe(false);
    expect(info.parameter_counts).toEqual({ trainable: 10982, non_trainable: 96, total: 11078 });
  });

  test('with an evaluation report: its accuracy, and the sweep summary when it has one', () => {
    const report = tmpDir();
    fs.writeFileSync(path.join(report, 'metrics.json'), JSON.stringify({ accuracy: 0.97, loss: 0.1 }));
    const plain = readModelInfo(modelDir, readManifest(modelDir), { threshold: 0.7, reportDir: report });
    expect(plain.accuracy.evaluation).toBe(0.97);
    expect('sweep' in plain).toBe(false);
    const sweep = {
      rotation: [0, 30, -45].map((angle, i) => ({ angle, accuracy: [0.99, 0.98, 0.95][i] })),
      step: 15,
    };
    fs.writeFileSync(path.join(report, 'report.json'), JSON.stringify({ accuracy: 0.975, sweep }));
    const withSweep = readModelInfo(modelDir, readManifest(modelDir), { threshold: 0.7, reportDir: report });
    expect(withSweep.accuracy.evaluation).toBe(0.975);
    expect(withSweep.sweep).toEqual({
      step: 15,
      points: 3,
      mean_accuracy: (0.99 + 0.98 + 0.95) / 3,
      worst_accuracy: 0.95,
      worst_angle: -45,
    });
    expect(() =>
      readModelInfo(modelDir, readManifest(modelDir), { threshold: 0.7, reportDir: tmpDir() }),
    ).toThrow(/holds no report\.json or metrics\.json/);
  });

  test('a sweep that brings its own summary is shown as it is', () => {
    expect(summarizeSweep({ summary: { mean: 0.98, worst: 0.96 }, points: [] })).toEqual({
      mean: 0.98,
      worst: 0.96,
    });
    expect(summarizeSweep(undefined)).toBeUndefined();
  });
});
