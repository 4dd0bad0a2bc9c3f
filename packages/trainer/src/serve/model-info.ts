// What GET /model-info tells about the served model, read once at start-up from the model folder
// (model.json, metadata.json, metrics.json, logs/run.json) and, when given, an evaluation report folder
// (report.json / metrics.json, with its rotation sweep when it has one). Files that are absent leave
// their fields null; files that are present are validated.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataverError } from '@dataver/foundation';
import { z } from 'zod';
import type { ModelManifest } from '../model/io.js';
import type { ModelInfo } from './schemas.js';

const metadataSchema = z
  .object({
    model: z
      .object({
        parameters: z
          .object({ trainable: z.number(), nonTrainable: z.number(), total: z.number() })
          .optional(),
      })
      .optional(),
    metrics: z
      .object({
        test_accuracy: z.number().nullable().optional(),
        val_accuracy: z.number().nullable().optional(),
      })
      .optional(),
    data: z
      .object({
        lineage: z
          .object({
            status: z.string().optional(),
            rev: z.string().nullable().optional(),
            outputs: z.array(z.object({ path: z.string(), hash: z.string() })).optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .loose();

const reportSchema = z.object({ accuracy: z.number().optional(), sweep: z.unknown().optional() }).loose();
const runSchema = z.object({ createdAt: z.string().optional() }).loose();

function readJson<T>(file: string, schema: z.ZodType<T>): T | null {
  if (!fs.existsSync(file)) return null;
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataverError('MODEL_INCOMPATIBLE', `${file} is not valid JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new DataverError(
      'MODEL_INCOMPATIBLE',
      `${file}: ${parsed.error.issues[0]?.message ?? 'unexpected content'}`,
    );
  return parsed.data;
}

type Sweep = Record<string, unknown>;

/**
 * A short summary of a rotation sweep: its own `summary` object when it has one, else the scalar
 * fields, plus the mean and worst accuracy of a list of `{angle, accuracy}` points.
 *
 * @example
 * ```ts
 * summarizeSweep({ rotation: [{ angle: 0, accuracy: 0.99 }, { angle: 45, accuracy: 0.97 }] });
 * // { points: 2, mean_accuracy: 0.98, worst_accuracy: 0.97, worst_angle: 45 }
 * ```
 */
export function summarizeSweep(sweep: unknown): Sweep | undefined {
  if (typeof sweep !== 'object' || sweep === null) return undefined;
  const record = sweep as Record<string, unknown>;
  if (typeof record['summary'] === 'object' && record['summary'] !== null) return record['summary'] as Sweep;
  const out: Sweep = {};
  for (const [key, value] of Object.entries(record))
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
      out[key] = value;
  const list = Array.isArray(sweep) ? sweep : Object.values(record).find(Array.isArray);
  const points = (list ?? []).flatMap((p: unknown) => {
    const parsed = z.object({ angle: z.number(), accuracy: z.number() }).safeParse(p);
    return parsed.success ? [parsed.data] : [];
  });
  if (points.length > 0) {
    const worst = points.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
    out['points'] = points.length;
    out['mean_accuracy'] = points.reduce((s, p) => s + p.accuracy, 0) / points.length;
    out['worst_accuracy'] = worst.accuracy;
    out['worst_angle'] = worst.angle;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Reads what /model-info shows; the backend fields are filled in once the workers report theirs.
 *
 * @example
 * ```ts
 * const info = readModelInfo('models/latest', readManifest('models/latest'), { threshold: 0.7 });
 * ```
 */
export function readModelInfo(
  modelDir: string,
  manifest: ModelManifest,
  options: { threshold: number; reportDir?: string },
): ModelInfo {
  const metadata = readJson(path.join(modelDir, 'metadata.json'), metadataSchema);
  const run = readJson(path.join(modelDir, 'logs', 'run.json'), runSchema);
  const reportDir = options.reportDir;
  const report = reportDir
    ? (readJson(path.join(reportDir, 'report.json'), reportSchema) ??
      readJson(path.join(reportDir, 'metrics.json'), reportSchema))
    : null;
  if (reportDir && report === null)
    throw new DataverError('DATA_MISSING', `${reportDir} holds no report.json or metrics.json`, {
      hint: 'write one with: trainer evaluate --model DIR --report DIR',
    });
  const total = manifest.weights.reduce((n, w) => n + w.size, 0);
  const counts = metadata?.model?.parameters ?? { trainable: total, nonTrainable: 0, total };
  const lineage = metadata?.data?.lineage;
  const sweep = summarizeSweep(report?.sweep);
  const created = run?.createdAt ?? fs.statSync(path.join(modelDir, 'model.json')).mtime.toISOString();
  return {
    name: manifest.architecture.name,
    architecture: manifest.architecture.name,
    parameters: counts.trainable,
    parameter_counts: {
      trainable: counts.trainable,
      non_trainable: counts.nonTrainable,
      total: counts.total,
    },
    classes: manifest.classes,
    weights_sha256: manifest.weightsSha256,
    threshold: options.threshold,
    accuracy: {
      test: metadata?.metrics?.test_accuracy ?? null,
      validation: metadata?.metrics?.val_accuracy ?? null,
      evaluation: report?.accuracy ?? null,
    },
    ...(sweep ? { sweep } : {}),
    normalization: manifest.normalization,
    lineage: {
      status: lineage?.status ?? 'unknown',
      rev: lineage?.rev ?? null,
      outputs: (lineage?.outputs ?? []).map(({ path: p, hash }) => ({ path: p, hash })),
    },
    backend: 'starting',
    backend_reason: 'the model workers are starting',
    created,
  };
}
