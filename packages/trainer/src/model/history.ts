// One epoch's metrics: the training history that checkpoints carry (so `--resume` continues it) and
// that a run reports in metrics.jsonl, metadata.json and run.json.

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
