// Messages between the training loop and its data-parallel workers.

/** One step's work for a worker. */
export interface StepRequest {
  /** All variables (trainable and batch-norm statistics) in model order. */
  weights: Float32Array;
  images: Float32Array;
  labels: Int32Array;
  /** Generator state for this replica's dropout masks. */
  rng: [number, number, number, number];
  gradSize: number;
  stateSize: number;
}

/** A worker's answer. */
export interface StepReply {
  /** Mean loss over the worker's slice. */
  loss: number;
  correct: number;
  /** Gradients of the trainable variables, flattened in model order. */
  grads: Float32Array;
  /** Non-trainable variables (batch-norm statistics) after the step. */
  state: Float32Array;
}
