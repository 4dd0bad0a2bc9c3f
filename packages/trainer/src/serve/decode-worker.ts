// A decode worker: turns one large image at a time into 28×28 ink, off the main thread and away from the
// model workers, so that a slow or hostile image delays nobody else. Runs as a worker thread only.
import { parentPort, workerData } from 'node:worker_threads';
import { imageToInk } from '../data/image.js';
import { imageProblem } from '../data/image-probe.js';
import { type DecodeWorkerMessage, isDecodeRequest, isDecodeWorkerInit } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('serve/decode-worker.js runs as a worker thread only');
if (!isDecodeWorkerInit(workerData))
  throw new Error('serve/decode-worker.js was started with invalid workerData');
const { limits } = workerData;

port.on('message', (message: unknown) => {
  if (!isDecodeRequest(message)) return;
  let reply: DecodeWorkerMessage;
  try {
    const ink = imageToInk(message.bytes, message.name, limits);
    reply = { kind: 'decoded', id: message.id, ink };
    port.postMessage(reply, [ink.buffer as ArrayBuffer]);
    return;
  } catch (error) {
    // Anything but an image problem is a bug: the main thread answers 500 for it.
    reply = {
      kind: 'refused',
      id: message.id,
      reason: imageProblem(error) ?? 'internal',
      message: (error as Error).message,
    };
  }
  port.postMessage(reply);
});
