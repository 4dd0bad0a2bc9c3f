// The trainer's figures: metric curves, a confusion matrix and labelled image grids, as PNG bytes.
import type { Normalization } from '../data/dataset.js';
import { Canvas, type Rgb } from './canvas.js';

const PALETTE: Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
];

/** One line of a chart. */
export interface Series {
  name: string;
  values: number[];
}

function niceNumber(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(a >= 1 ? 2 : 3);
}

/** The x axis of a line chart: its label and, per point, a tick text [1, 2, 3, … (epochs)]. */
export interface XAxis {
  label: string;
  ticks?: readonly string[];
}

/**
 * Draws series against their x axis (by default epochs, 1-based) with axes, ticks and a legend.
 *
 * @example
 * ```ts
 * fs.writeFileSync('loss.png', lineChart('Loss', [{ name: 'train', values: [0.5, 0.2] }], 'epoch'));
 * ```
 */
export function lineChart(
  title: string,
  series: Series[],
  axis: string | XAxis = 'epoch',
  width = 640,
  height = 400,
): Buffer {
  const { label: xLabel, ticks } = typeof axis === 'string' ? { label: axis, ticks: undefined } : axis;
  const c = new Canvas(width, height);
  const left = 64;
  const right = width - 16;
  const top = 36;
  const bottom = height - 44;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi - lo < 1e-9) {
    hi += 0.5;
    lo -= 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const px = (i: number) => left + ((right - left) * i) / (n - 1);
  const py = (v: number) => bottom - ((bottom - top) * (v - lo)) / (hi - lo);
  c.text((width - Canvas.textWidth(title, 2)) / 2, 8, title, [0, 0, 0], 2);
  for (let t = 0; t <= 5; t++) {
    const v = lo + ((hi - lo) * t) / 5;
    const y = py(v);
    c.line(left, y, right, y, [230, 230, 230]);
    const label = niceNumber(v);
    c.text(left - 6 - Canvas.textWidth(label), y - 3, label, [60, 60, 60]);
  }
  const xticks = Math.min(n, ticks ? 13 : 10);
  for (let t = 0; t < xticks; t++) {
    const i = Math.round(((n - 1) * t) / Math.max(1, xticks - 1));
    const label = ticks?.[i] ?? String(i + 1);
    c.line(px(i), bottom, px(i), bottom + 4, [0, 0, 0]);
    c.text(px(i) - Canvas.textWidth(label) / 2, bottom + 8, label, [60, 60, 60]);
  }
  c.line(left, top, left, bottom, [0, 0, 0]);
  c.line(left, bottom, right, bottom, [0, 0, 0]);
  c.text((left + right - Canvas.textWidth(xLabel)) / 2, height - 14, xLabel, [0, 0, 0]);
  series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length] ?? [0, 0, 0];
    for (const [i, v] of s.values.entries()) {
      const previous = s.values[i - 1];
      if (previous !== undefined) c.line(px(i - 1), py(previous), px(i), py(v), color, 2);
    }
    for (const [i, v] of s.values.entries()) c.rect(px(i) - 2, py(v) - 2, 5, 5, color);
    const lx = right - 150;
    const ly = top + 6 + k * 14;
    c.rect(lx, ly + 2, 14, 3, color);
    c.text(lx + 20, ly, s.name, [0, 0, 0]);
  });
  return c.toPng();
}

/**
 * Draws a confusion matrix (rows: true class, columns: predicted) with counts in the cells.
 *
 * @example
 * ```ts
 * fs.writeFileSync('confusion.png', confusionMatrixPng(matrix));
 * ```
 */
export function confusionMatrixPng(matrix: number[][], title = 'Confusion matrix'): Buffer {
  const k = matrix.length;
  const cell = 44;
  const left = 40;
  const top = 48;
  const c = new Canvas(left + cell * k + 20, top + cell * k + 40);
  c.text(Math.max(4, (c.width - Canvas.textWidth(title, 2)) / 2), 8, title, [0, 0, 0], 2);
  const rowMax = matrix.map((r) =>
    Math.max(
      1,
      r.reduce((a, b) => a + b, 0),
    ),
  );
  for (const [i, row] of matrix.entries()) {
    c.text(left - 14, top + i * cell + cell / 2 - 3, String(i));
    c.text(left + i * cell + cell / 2 - 3, top - 12, String(i));
    const total = rowMax[i] ?? 1;
    for (const [j, v] of row.entries()) {
      const f = v / total;
      const color: Rgb =
        i === j
          ? [255 - 200 * f, 255 - 120 * f, 255 - 200 * f]
          : [255, 255 - 200 * Math.min(1, f * 5), 255 - 200 * Math.min(1, f * 5)];
      c.rect(left + j * cell, top + i * cell, cell - 1, cell - 1, color.map(Math.round) as Rgb);
      const s = String(v);
      c.text(left + j * cell + (cell - Canvas.textWidth(s)) / 2, top + i * cell + cell / 2 - 3, s);
    }
  }
  c.text(left, c.height - 14, 'rows: true class   columns: predicted');
  return c.toPng();
}

/** One tile of an image grid. */
export interface GridTile {
  /** 28×28 normalized pixels. */
  pixels: Float32Array;
  caption: string;
  /** Caption colour: red for mistakes. */
  bad?: boolean;
}

/**
 * Draws normalized 28×28 images, un-normalized for display, 3× enlarged, with captions.
 *
 * @example
 * ```ts
 * fs.writeFileSync('worst.png', imageGridPng(tiles, normalization, 8));
 * ```
 */
export function imageGridPng(
  tiles: GridTile[],
  normalization: Normalization,
  columns = 8,
  title = '',
): Buffer {
  const zoom = 3;
  const tw = 28 * zoom + 8;
  const th = 28 * zoom + 22;
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const head = title ? 28 : 4;
  const c = new Canvas(
    Math.max(columns * tw + 8, title ? Canvas.textWidth(title, 2) + 16 : 0),
    head + rows * th,
  );
  if (title) c.text(8, 6, title, [0, 0, 0], 2);
  tiles.forEach((t, k) => {
    const x0 = 8 + (k % columns) * tw;
    const y0 = head + Math.floor(k / columns) * th;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const v = t.pixels[y * 28 + x]! * normalization.std + normalization.mean;
        const g = Math.max(0, Math.min(255, Math.round(255 - v * 255)));
        c.rect(x0 + x * zoom, y0 + y * zoom, zoom, zoom, [g, g, g]);
      }
    }
    c.text(x0, y0 + 28 * zoom + 5, t.caption, t.bad ? [200, 0, 0] : [0, 0, 0]);
  });
  return c.toPng();
}

/** One row of {@link probabilityPlotPng}: an input digit and the model's answer. */
export interface ProbabilityRow {
  /** 28×28 ink in [0,1] (1 = ink), as the model saw the image. */
  ink: Float32Array;
  probabilities: readonly number[];
  caption: string;
}

/**
 * Draws each input digit (as the model saw it, 6× enlarged) beside a bar chart of its class
 * probabilities, the predicted class in green; one row per image.
 *
 * @example
 * ```ts
 * fs.writeFileSync('seven.plot.png', probabilityPlotPng([{ ink, probabilities, caption: 'seven.png' }]));
 * ```
 */
export function probabilityPlotPng(rows: readonly ProbabilityRow[]): Buffer {
  const zoom = 6;
  const side = 28 * zoom;
  const rowHeight = side + 56;
  const chartLeft = side + 48;
  const barWidth = 30;
  const gap = 10;
  const classes = Math.max(1, ...rows.map((r) => r.probabilities.length));
  const width = chartLeft + classes * (barWidth + gap) + 24;
  const c = new Canvas(width, Math.max(1, rows.length) * rowHeight);
  rows.forEach((row, r) => {
    const top = r * rowHeight + 28;
    c.text(16, r * rowHeight + 8, row.caption, [0, 0, 0], 2);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const g = Math.round(255 * (1 - Math.min(1, Math.max(0, row.ink[y * 28 + x] ?? 0))));
        c.rect(16 + x * zoom, top + y * zoom, zoom, zoom, [g, g, g]);
      }
    }
    c.line(16, top + side, 16 + side, top + side, [180, 180, 180]);
    const bottom = top + side;
    let best = 0;
    row.probabilities.forEach((p, k) => {
      if (p > (row.probabilities[best] ?? 0)) best = k;
    });
    c.line(chartLeft - 6, bottom, width - 16, bottom, [0, 0, 0]);
    row.probabilities.forEach((p, k) => {
      const x = chartLeft + k * (barWidth + gap);
      const h = Math.round((side - 24) * Math.min(1, Math.max(0, p)));
      c.rect(x, bottom - h, barWidth, h, k === best ? [44, 160, 44] : (PALETTE[0] ?? [31, 119, 180]));
      c.text(x + (barWidth - Canvas.textWidth(String(k), 2)) / 2, bottom + 6, String(k), [0, 0, 0], 2);
      const label = `${Math.round(100 * p)}`;
      c.text(x + (barWidth - Canvas.textWidth(label)) / 2, bottom - h - 10, label, [60, 60, 60]);
    });
  });
  return c.toPng();
}
