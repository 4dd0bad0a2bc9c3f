// A model worker: holds the backend and one copy of the model, decodes the small images of each batch it
// is sent, and classifies the whole batch in one model call. Runs as a worker thread only.
import { parentPort, workerData } from 'node:worker_threads';
import { DataverError } from '@dataver/foundation';
import { initBackend } from '../backend/select.js';
import { infer } from '../batch.js';
import { PIXELS } from '../data/dataset.js';
import { imageToInk } from '../data/image.js';
import { imageProblem } from '../data/image-probe.js';
import { loadModel } from '../model/io.js';
import {
  type BatchRequest,
  type ItemFailure,
  isBatchRequest,
  isModelWorkerInit,
  type ModelWorkerMessage,
} from './worker-protocol.js';

async function start(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('serve/model-worker.js runs as a worker thread only');
  if (!isModelWorkerInit(workerData))
    throw new Error('serve/model-worker.js was started with invalid workerData');
  const { limits } = workerData;
  const send = (message: ModelWorkerMessage, transfer: ArrayBuffer[] = []) =>
    port.postMessage(message, transfer);
  try {
    const backend = await initBackend(workerData.backend);
    const { model, manifest } = loadModel(workerData.modelDir);
    const { mean, std } = manifest.normalization;
    const classes = manifest.classes;

    const run = (req: BatchRequest): { probabilities: Float32Array; failures: ItemFailure[] } => {
      const n = req.items.length;
      const images = new Float32Array(n * PIXELS);
      const failures: ItemFailure[] = [];
      const rows: number[] = [];
      for (const [index, item] of req.items.entries()) {
        let ink: Float32Array;
        try {
          ink =
            item.kind === 'ink'
              ? req.inks.subarray(item.offset, item.offset + PIXELS)
              : imageToInk(req.bytes.subarray(item.offset, item.offset + item.length), item.name, limits);
        } catch (error) {
          const reason = imageProblem(error);
          if (reason === null) throw error;
          failures.push({ index, reason, message: (error as Error).message });
          continue;
        }
        const at = rows.length * PIXELS;
        for (let i = 0; i < PIXELS; i++) images[at + i] = (ink[i]! - mean) / std;
        rows.push(index);
      }
      const probabilities = new Float32Array(n * classes);
      if (rows.length > 0) {
        const result = infer(model, images.subarray(0, rows.length * PIXELS), rows.length);
        for (const [k, index] of rows.entries())
          probabilities.set(result.probabilities.subarray(k * classes, (k + 1) * classes), index * classes);
      }
      return { probabilities, failures };
    };

    // Warm-up: the first model call compiles kernels; readiness waits for it.
    const started = performance.now();
    infer(model, new Float32Array(8 * PIXELS), 8);
    send({
      kind: 'ready',
      backend: { name: backend.name, reason: backend.reason },
      warmupMs: performance.now() - started,
    });

    port.on('message', (message: unknown) => {
      if (!isBatchRequest(message)) return;
      try {
        const { probabilities, failures } = run(message);
        send({ kind: 'result', id: message.id, probabilities, failures }, [
          probabilities.buffer as ArrayBuffer,
        ]);
      } catch (error) {
        send({ kind: 'error', id: message.id, message: (error as Error).message });
      }
    });
  } catch (error) {
    const code = error instanceof DataverError ? error.code : null;
    send({ kind: 'failed', message: (error as Error).message, code });
  }
}

void start();
