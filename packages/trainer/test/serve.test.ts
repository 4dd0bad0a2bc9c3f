// The pages of `trainer serve` in a real browser (Debian's chromium driven by playwright-core), with every
// request outside the server refused: the drawing page (draw a digit, read the shown digit and the ten
// bars), Swagger UI at /docs and ReDoc at /redoc, both offline; and the screenshot in docs/serving.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { REPO_ROOT, tmpDir, trainedModel } from './helpers/fixtures';
import { API_ROUTES, type RunningServer, START_MS, startServer } from './helpers/server';

const LONG = 600_000;
// The screenshot in docs/serving.md is rewritten with UPDATE_DOCS_IMAGES=1; otherwise it goes to a temp dir.
const SCREENSHOT = process.env['UPDATE_DOCS_IMAGES']
  ? path.join(REPO_ROOT, 'docs/images/serving-page.png')
  : path.join(tmpDir(), 'serving-page.png');

let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  const { modelDir } = await trainedModel();
  server = await startServer(modelDir);
  const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
  if (!executablePath) throw new Error('chromium is not installed: apt-get install -y chromium');
  browser = await chromium.launch({
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
}, LONG);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page on which every request that leaves the server is refused and recorded. */
async function offlinePage(): Promise<{ page: Page; external: string[] }> {
  const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
  page.setDefaultTimeout(START_MS);
  const external: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.base) || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  return { page, external };
}

/** Draws strokes (lists of points on the 280×280 canvas) with the mouse. */
async function draw(page: Page, strokes: Array<Array<[number, number]>>) {
  const box = (await page.locator('#pad').boundingBox())!;
  for (const stroke of strokes) {
    const [first, ...rest] = stroke;
    await page.mouse.move(box.x + first![0], box.y + first![1]);
    await page.mouse.down();
    for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 4 });
    await page.mouse.up();
  }
}

test(
  'the drawing page: draw a 1, read the shown digit and the ten bars',
  async () => {
    const { page, external } = await offlinePage();
    await page.goto(`${server.base}/`);
    await page.waitForFunction(() => document.getElementById('model')?.textContent?.includes('parameters'));
    // A "1": one firm vertical stroke down the middle.
    await draw(page, [Array.from({ length: 19 }, (_, i) => [140 + i / 3, 50 + 10 * i] as [number, number])]);
    await page.waitForFunction(() => document.getElementById('result')?.dataset.prediction !== undefined);
    expect(await page.locator('#result').textContent()).toMatch(/prediction: 1 \(\d+\.\d%\)/);
    expect(await page.locator('#digit').textContent()).toBe('1');
    const bars = page.locator('#bars .bar');
    expect(await bars.count()).toBe(10);
    const probabilities = await bars.evaluateAll((els) =>
      els.map((e) => Number((e as HTMLElement).dataset.probability)),
    );
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(probabilities.indexOf(Math.max(...probabilities))).toBe(1);
    expect(await page.locator('#bars .bar.top').getAttribute('data-class')).toBe('1');
    // Clear, then a "7" for the screenshot in docs/serving.md.
    await page.click('#clear');
    expect(await page.locator('#bars .bar').count()).toBe(0);
    await draw(page, [
      [
        [70, 60],
        [210, 60],
        [150, 150],
        [115, 235],
      ],
    ]);
    await page.waitForFunction(() => document.getElementById('result')?.dataset.prediction !== undefined);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
    expect(external).toEqual([]);
    await page.close();
  },
  LONG,
);

test(
  'Swagger UI at /docs works offline and lists the routes',
  async () => {
    const { page, external } = await offlinePage();
    await page.goto(`${server.base}/docs`);
    await page.waitForSelector('.opblock-summary-path');
    const paths = await page.locator('.opblock-summary-path').allTextContents();
    for (const p of API_ROUTES) expect(paths.map((t) => t.replace(/\u200b/g, ''))).toContain(p);
    expect(external).toEqual([]);
    await page.close();
  },
  LONG,
);

test(
  'ReDoc at /redoc works offline and shows the operations',
  async () => {
    const { page, external } = await offlinePage();
    await page.goto(`${server.base}/redoc`);
    await page.waitForFunction(() =>
      (document.body.textContent ?? '').includes('Classify one uploaded image'),
    );
    const text = await page.evaluate(() => document.body.textContent ?? '');
    expect(text).toContain('Digit classifier API');
    expect(text).toContain('Classify a drawing sent as a data URL');
    expect(external).toEqual([]);
    await page.close();
  },
  LONG,
);
