// The server's Prometheus metrics (prom-client): requests by route and status, a latency histogram,
// predictions by class, low-confidence answers, requests in flight, model calls and their batch sizes,
// the model's identity as an info gauge, and Node's process metrics.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics of one server. */
export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly duration: Histogram<'route'>;
  private readonly predictions: Counter<'class'>;
  private readonly lowConfidence: Counter;
  private readonly inFlight: Gauge;
  private readonly batchSize: Histogram;
  private readonly modelInfo: Gauge<'name' | 'weights_sha256' | 'backend'>;

  /**
   * @example
   * ```ts
   * const metrics = new ServeMetrics(() => pool.queued);
   * metrics.request('/predict', 'POST', 200, 0.004);
   * ```
   */
  constructor(queueDepth: () => number) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from request to answer, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'http_requests_in_flight',
      help: 'Requests being answered',
      registers,
    });
    this.predictions = new Counter({
      name: 'trainer_predictions_total',
      help: 'Images classified, by predicted class',
      labelNames: ['class'],
      registers,
    });
    this.lowConfidence = new Counter({
      name: 'trainer_low_confidence_predictions_total',
      help: 'Images whose top probability was below the threshold',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'trainer_inference_batch_size',
      help: 'Images per model call (micro-batching)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    new Gauge({
      name: 'trainer_inference_queue_depth',
      help: 'Images waiting for a model worker',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
    this.modelInfo = new Gauge({
      name: 'trainer_model_info',
      help: 'The served model (value 1)',
      labelNames: ['name', 'weights_sha256', 'backend'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records the model's identity. */
  model(name: string, weightsSha256: string, backend: string): void {
    this.modelInfo.reset();
    this.modelInfo.set({ name, weights_sha256: weightsSha256, backend }, 1);
  }

  /** A request started. */
  started(): void {
    this.inFlight.inc();
  }

  /** A request was answered. */
  request(route: string, method: string, status: number, seconds: number): void {
    this.inFlight.dec();
    this.requests.inc({ route, method, status: String(status) });
    this.duration.observe({ route }, seconds);
  }

  /** An image was classified. */
  prediction(predicted: number, low: boolean): void {
    this.predictions.inc({ class: String(predicted) });
    if (low) this.lowConfidence.inc();
  }

  /** A model call of `size` images. */
  batch(size: number): void {
    this.batchSize.observe(size);
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
