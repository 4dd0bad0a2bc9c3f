// `trainer serve`: the HTTP API through the real CLI, and the drawing page in a real browser (Debian's
// chromium driven by playwright-core): draw a digit, get a prediction.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';
import { digitPng, TRAINER_BIN, trainedModel } from './helpers/fixtures';
import { loadMnist } from './helpers/mnist';

/** Upper bounds on a loaded machine: slow there, never wrong. */
const LONG = 600_000;
const START = 180_000;

let server: ChildProcess;
let base: string;

beforeAll(async () => {
  const { modelDir } = await trainedModel();
  server = spawn(process.execPath, [TRAINER_BIN, 'serve', '--model', modelDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    // unref: once the server is up, this timer must not keep the test process alive.
    setTimeout(() => reject(new Error(`server did not start in ${START / 1000} s`)), START).unref();
  });
}, LONG);

afterAll(() => {
  server?.kill('SIGTERM');
});

test('GET /health and GET /model', async () => {
  expect(await (await fetch(`${base}/health`)).json()).toEqual({
    status: 'ok',
    model: 'cnn-small',
    backend: 'wasm',
  });
  const info = await (await fetch(`${base}/model`)).json();
  expect(info.parameters).toBe(10982);
});

test('POST /predict with a 28×28 array and with a PNG body', async () => {
  const d = loadMnist('test', 3);
  const pixels = Array.from({ length: 28 }, (_, y) =>
    Array.from(d.raw.subarray(2 * 784 + y * 28, 2 * 784 + (y + 1) * 28)),
  );
  const r = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pixels }),
  });
  expect(r.status).toBe(200);
  const body = await r.json();
  expect(body.prediction).toBe(d.labels[2]);
  expect(body.probabilities).toHaveLength(10);
  const { png, label } = digitPng(0, { lightBackground: true, zoom: 5 });
  const r2 = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: png,
  });
  expect((await r2.json()).prediction).toBe(label);
});

test('POST /predict with bad input answers 400 with an error message', async () => {
  const bad = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pixels: [[1, 2]] }),
  });
  expect(bad.status).toBe(400);
  expect((await bad.json()).error).toMatch(/28×28/);
  const notImage = await fetch(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: 'hello',
  });
  expect(notImage.status).toBe(400);
});

test(
  'the drawing page predicts a digit drawn in a real browser',
  async () => {
    const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
    if (!executablePath) throw new Error('chromium is not installed: apt-get install -y chromium');
    const browser = await chromium.launch({
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(START);
      await page.goto(`${base}/`);
      await page.waitForFunction(() => document.getElementById('model')?.textContent?.includes('parameters'));
      const box = (await page.locator('#pad').boundingBox())!;
      // A "1": one firm vertical stroke down the middle.
      await page.mouse.move(box.x + 140, box.y + 50);
      await page.mouse.down();
      for (let y = 50; y <= 230; y += 10) await page.mouse.move(box.x + 140 + (y - 50) / 30, box.y + y);
      await page.mouse.up();
      await page.waitForFunction(
        () => document.getElementById('result')?.dataset.prediction !== undefined,
        null,
        { timeout: START },
      );
      const text = await page.locator('#result').textContent();
      expect(text).toMatch(/prediction: \d \(\d+\.\d%\)/);
      expect(await page.locator('#result').getAttribute('data-prediction')).toBe('1');
      expect(await page.locator('#bars .bar').count()).toBe(10);
    } finally {
      await browser.close();
    }
  },
  LONG,
);
