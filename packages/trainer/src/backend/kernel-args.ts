// Typed reads of what tfjs hands a kernel: named inputs and attributes (loosely typed in its registry),
// checked once per call so that the kernels work on exact types. A mismatch is a bug, not user input.
import type * as tf from '@tensorflow/tfjs';

/** Padding as tfjs's convolution and pooling helpers take it. */
export type Padding = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
/** How output sizes are rounded. */
export type RoundingMode = 'floor' | 'round' | 'ceil';
/** An NHWC shape. */
export type Shape4 = [number, number, number, number];

function fail(what: string): never {
  throw new Error(`kernel argument ${what}`);
}

/**
 * The named input of a kernel call.
 *
 * @example
 * ```ts
 * const x = input(args.inputs, 'x');
 * ```
 */
export function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  return inputs[name] ?? fail(`${name} is missing`);
}

const isNumber = (v: unknown): v is number => typeof v === 'number';

/**
 * A shape of rank 4 (NHWC), from an attribute or a tensor's shape.
 *
 * @example
 * ```ts
 * const [n, h, w, c] = shape4(x.shape, 'x.shape');
 * ```
 */
export function shape4(value: tf.Attribute | undefined, name: string): Shape4 {
  if (Array.isArray(value) && value.length === 4) {
    const [a, b, c, d] = value;
    if (isNumber(a) && isNumber(b) && isNumber(c) && isNumber(d)) return [a, b, c, d];
  }
  return fail(`${name} is not a shape of rank 4`);
}

/**
 * A number or a pair of numbers (strides, filter sizes).
 *
 * @example
 * ```ts
 * const strides = numberOrPair(attrs.strides, 'strides');
 * ```
 */
export function numberOrPair(value: tf.Attribute | undefined, name: string): number | [number, number] {
  if (isNumber(value)) return value;
  if (Array.isArray(value) && value.length === 2) {
    const [a, b] = value;
    if (isNumber(a) && isNumber(b)) return [a, b];
  }
  return fail(`${name} is neither a number nor a pair of numbers`);
}

function isPair(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every(isNumber);
}

/**
 * Padding: 'same', 'valid', a number, or explicit [[top, bottom], …] pairs for the four NHWC axes.
 *
 * @example
 * ```ts
 * const pad = padding(attrs.pad, 'pad');
 * ```
 */
export function padding(value: tf.Attribute | undefined, name: string): Padding {
  if (value === 'same') return 'same';
  if (value === 'valid') return 'valid';
  if (isNumber(value)) return value;
  if (Array.isArray(value) && value.length === 4) {
    const [a, b, c, d] = value;
    if (isPair(a) && isPair(b) && isPair(c) && isPair(d)) return [a, b, c, d];
  }
  return fail(`${name} is not a padding`);
}

/**
 * An optional rounding mode.
 *
 * @example
 * ```ts
 * const rounding = roundingMode(attrs.dimRoundingMode, 'dimRoundingMode');
 * ```
 */
export function roundingMode(value: tf.Attribute | undefined, name: string): RoundingMode | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'floor') return 'floor';
  if (value === 'round') return 'round';
  if (value === 'ceil') return 'ceil';
  return fail(`${name} is not a rounding mode`);
}

/**
 * An optional string attribute.
 *
 * @example
 * ```ts
 * if (optionalString(attrs.dataFormat, 'dataFormat') === 'NCHW') throw new Error('NHWC only');
 * ```
 */
export function optionalString(value: tf.Attribute | undefined, name: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return fail(`${name} is not a string`);
}

/**
 * A number attribute.
 *
 * @example
 * ```ts
 * const epsilon = numberAttr(attrs.epsilon, 'epsilon');
 * ```
 */
export function numberAttr(value: tf.Attribute | undefined, name: string): number {
  return isNumber(value) ? value : fail(`${name} is not a number`);
}

/**
 * A boolean attribute.
 *
 * @example
 * ```ts
 * const training = booleanAttr(attrs.training, 'training');
 * ```
 */
export function booleanAttr(value: tf.Attribute | undefined, name: string): boolean {
  return typeof value === 'boolean' ? value : fail(`${name} is not a boolean`);
}
