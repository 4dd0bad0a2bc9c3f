// What a training run measures: one record per epoch (metrics.jsonl, checkpoints, metadata history)
// and the run's summary (metrics.json).

/** One epoch's metrics as written to metrics.jsonl. */
export interface EpochMetrics {
  epoch: number;
  step: number;
  train_loss: number;
  train_accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  learning_rate: number;
  images_per_second: number;
  seconds: number;
}

/** The summary of a run as written to metrics.json (reproducible: no timings). */
export interface RunSummary {
  test_accuracy: number | null;
  test_loss: number | null;
  best_epoch: number | null;
  best_val_loss: number | null;
  val_accuracy: number | null;
  train_loss: number | null;
  train_accuracy: number | null;
  epochs_run: number;
  stopped_early: boolean;
}
