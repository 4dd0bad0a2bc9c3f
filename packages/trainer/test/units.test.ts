// Pure pieces: config validation and schedules, CRC32C and TFRecord framing, image preprocessing,
// per-class report, the seeded generator.

import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { applyOverrides, learningRateAt, parseTrainConfig } from '../src/config';
import { toMnist } from '../src/data/image';
import { perClassReport } from '../src/evaluate';
import { crc32c, encodeEvent, frameRecord, maskedCrc32c, readRecords } from '../src/report/tensorboard';
import { REPO_ROOT } from './helpers/fixtures';

describe('config', () => {
  test("configs/train.yaml is valid and trains the pipeline's model", () => {
    const config = parseTrainConfig(
      parse(fs.readFileSync(path.join(REPO_ROOT, 'configs/train.yaml'), 'utf8')),
    );
    expect(config.model).toBe('cnn-medium');
    expect(config.data.dir).toBe('data/processed');
  });

  test('errors name the key, the value and the allowed values', () => {
    expect(() => parseTrainConfig({ model: 'vgg' })).toThrow(
      /model: "vgg" is not allowed \(allowed: cnn-small, cnn-medium, cnn-large\)/,
    );
    expect(() => parseTrainConfig({ schedule: { name: 'linear' } })).toThrow(
      /schedule\.name: "linear" is not allowed \(allowed: constant, step, cosine, onecycle\)/,
    );
    expect(() => parseTrainConfig({ augmentation: { rotate: 3 } })).toThrow(
      /augmentation: unknown key 'rotate' \(allowed: enabled, probability, rotation, nearUpright, nearRotation, shift, scale, strokeWidth, corruption, jitter\)/,
    );
    expect(() => parseTrainConfig({ batchSize: 'big' })).toThrow(/batchSize: expected number, got "big"/);
    expect(() => parseTrainConfig({ learningRate: -1 })).toThrow(/learningRate: -1 is too small/);
  });

  test('CLI overrides win and are validated too', () => {
    const c = applyOverrides(parseTrainConfig({}), { epochs: 2, out: '/tmp/x', data: 'd', augment: false });
    expect(c.epochs).toBe(2);
    expect(c.output.dir).toBe('/tmp/x');
    expect(c.data.dir).toBe('d');
    expect(c.augmentation.enabled).toBe(false);
    expect(() => applyOverrides(c, { model: 'nope' })).toThrow(/command line: model/);
  });

  test('one-cycle warms up, peaks at the learning rate and decays to the floor', () => {
    const c = parseTrainConfig({
      learningRate: 0.01,
      schedule: { name: 'onecycle', warmupFraction: 0.2, minLearningRate: 0 },
    });
    expect(learningRateAt(c, 0, 100)).toBeCloseTo(0.0004);
    expect(learningRateAt(c, 20, 100)).toBeCloseTo(0.01);
    expect(learningRateAt(c, 100, 100)).toBeCloseTo(0);
    const step = parseTrainConfig({ learningRate: 1, schedule: { name: 'step', stepEpochs: 2, gamma: 0.5 } });
    expect(learningRateAt(step, 25, 100, 10)).toBe(0.5);
  });
});

describe('TensorBoard records', () => {
  test('CRC32C matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  test('framing round-trips and detects corruption', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (datas) => {
        const buf = Buffer.concat(datas.map((d) => frameRecord(d)));
        const recs = readRecords(buf);
        expect(recs.map((r) => Buffer.from(r.data).toString('hex'))).toEqual(
          datas.map((d) => Buffer.from(d).toString('hex')),
        );
        expect(recs.every((r) => r.lengthCrcOk && r.dataCrcOk)).toBe(true);
      }),
    );
    const rec = frameRecord(encodeEvent(1, 2, { scalars: { loss: 0.5 } }));
    rec[14] = rec[14]! ^ 1;
    expect(readRecords(rec)[0]!.dataCrcOk).toBe(false);
    expect(maskedCrc32c(Buffer.alloc(0))).toBe(((((0 >>> 15) | (0 << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });
});

describe('image preprocessing', () => {
  function canvas(w: number, h: number, bg: number, draw: (x: number, y: number) => boolean) {
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = draw(x, y) ? 255 - bg : bg;
        data.set([v, v, v, 255], (y * w + x) * 4);
      }
    }
    return { width: w, height: h, data };
  }
  const centreOfMass = (img: Float32Array) => {
    let m = 0;
    let cx = 0;
    let cy = 0;
    img.forEach((v, i) => {
      m += v;
      cx += v * (i % 28);
      cy += v * Math.floor(i / 28);
    });
    return [cx / m, cy / m];
  };

  test('dark ink on light paper is inverted, scaled into 20×20 and centred by mass', () => {
    // A thick bar in the top-left corner of a large white image.
    const img = toMnist(canvas(300, 200, 255, (x, y) => x > 20 && x < 50 && y > 10 && y < 150));
    const [cx, cy] = centreOfMass(img);
    expect(Math.abs(cx! - 13.5)).toBeLessThan(1);
    expect(Math.abs(cy! - 13.5)).toBeLessThan(1);
    let rows = 0;
    for (let y = 0; y < 28; y++) if (img.subarray(y * 28, y * 28 + 28).some((v) => v > 0.5)) rows++;
    expect(rows).toBeGreaterThanOrEqual(19);
    expect(rows).toBeLessThanOrEqual(21);
    expect(Math.max(...img)).toBeCloseTo(1);
    expect(img[0]).toBe(0);
  });

  test('light ink on dark paper is used as is; a blank image is refused', () => {
    const img = toMnist(canvas(28, 28, 0, (x, y) => x === 14 && y > 4 && y < 24));
    expect(Math.max(...img)).toBeGreaterThan(0.5);
    expect(() =>
      toMnist(
        canvas(50, 50, 255, () => false),
        'blank.png',
      ),
    ).toThrow(/blank\.png holds no digit/);
  });
});

test('per-class precision, recall and F1', () => {
  const r = perClassReport([
    [5, 1],
    [0, 4],
  ]);
  expect(r[0]).toEqual({
    class: 0,
    precision: 1,
    recall: 5 / 6,
    f1: (2 * (5 / 6)) / (1 + 5 / 6),
    support: 6,
  });
  expect(r[1]!.precision).toBeCloseTo(0.8);
});
