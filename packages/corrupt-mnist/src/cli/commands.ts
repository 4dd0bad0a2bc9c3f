// The corrupt-mnist commands: each calls one library function and renders its result (text, or
// JSON with --json). Loaded only when a command runs, so `--help` stays fast.
import type { CommandAction } from '@dataver/foundation';
import { summarizeFile } from '@dataver/tensor';
import { generate as generateData, type RawDtype, type RecipeName } from '../generate.js';
import { importCourse } from '../import.js';
import { preview as writePreview } from '../preview.js';
import { processRaw } from '../process.js';

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/** `corrupt-mnist generate` */
export const generate: CommandAction = async (output, _args, o) => {
  const t0 = performance.now();
  const r = await generateData({
    out: o['out'] as string,
    seed: o['seed'] as number,
    train: o['train'] as number,
    test: o['test'] as number,
    shardSize: o['shardSize'] as number,
    testShardSize: o['testShardSize'] as number | undefined,
    recipe: o['recipe'] as RecipeName,
    dtype: o['dtype'] as RawDtype | undefined,
    mnistDir: o['mnistDir'] as string | undefined,
  });
  const s = seconds(t0);
  const angles = (shards: Array<{ angle?: number }>): string =>
    shards.map((x) => (x.angle === undefined ? '' : `${x.angle.toFixed(1)}°`)).join(' ');
  output.result({ ...r, seconds: s }, () => [
    `wrote ${r.files.length} files to ${r.out}: ${r.train} train + ${r.test} test digits, recipe ${r.recipe}, ${r.dtype} (seed ${r.seed}) in ${s.toFixed(2)} s`,
    ...(r.recipe === 'course'
      ? [
          `angles: ${(['train', 'test'] as const)
            .filter((split) => r.manifest[split].length > 0)
            .map((split) => `${split} ${angles(r.manifest[split])}`)
            .join('; ')}`,
        ]
      : []),
  ]);
};

/** `corrupt-mnist process` */
export const process: CommandAction = async (output, _args, o) => {
  const t0 = performance.now();
  const out = o['out'] as string;
  const stats = await processRaw({
    in: o['in'] as string,
    out,
    format: o['format'] as 'pt' | 'npy' | 'safetensors',
    sync: o['sync'] as boolean,
  });
  const s = seconds(t0);
  const f = (x: number): string => x.toFixed(6);
  output.result({ ...stats, seconds: s }, () => [
    `normalized with train mean ${f(stats.normalization.mean)} std ${f(stats.normalization.std)} (of pixels scaled to [0,1])`,
    `train: ${stats.train.count} images, mean ${f(stats.train.mean)} std ${f(stats.train.std)}`,
    `test:  ${stats.test.count} images, mean ${f(stats.test.mean)} std ${f(stats.test.std)}`,
    `wrote ${stats.files.join(', ')} to ${out} in ${s.toFixed(2)} s`,
  ]);
};

/** `corrupt-mnist import` */
export const importCommand: CommandAction = async (output, _args, o) => {
  const r = await importCourse({ from: o['from'] as string, out: o['out'] as string });
  output.result(r, () => `imported ${r.train} train + ${r.test} test ${r.imageDtype} images into ${r.out}`);
};

/** `corrupt-mnist preview <file>` */
export const preview: CommandAction = async (output, [file], o) => {
  const r = await writePreview({
    images: file as string,
    targets: o['targets'] as string | undefined,
    out: o['out'] as string,
    n: o['n'] as number,
    zoom: o['zoom'] as number,
  });
  output.result(r, () => `wrote ${r.count} images to ${r.out}`);
};

/** `corrupt-mnist inspect <file>` */
export const inspect: CommandAction = async (output, [file], _o) => {
  const meta = await summarizeFile(file as string);
  output.result(meta, () => [
    `${file} (${meta.format})`,
    ...meta.tensors.map(
      (t) =>
        `${t.name ?? '(tensor)'}: ${t.dtype} [${t.shape.join(',')}] ${
          t.mean === undefined
            ? 'no statistics (empty, or holds NaN/Infinity)'
            : `mean ${t.mean} std ${t.std} min ${t.min} max ${t.max}`
        }`,
    ),
  ]);
};
