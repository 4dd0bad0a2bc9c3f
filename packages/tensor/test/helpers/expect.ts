// Assertions the format tests share: two tensors are equal, a call fails with a given DataverError.
import { type DataverError, isDataverError } from '@dataver/foundation';
import type { Tensor } from '../../src/index';

/** Same dtype, shape and element values (bigint and number alike). */
export function expectSameTensor(a: Tensor, b: Tensor): void {
  expect(b.dtype).toBe(a.dtype);
  expect(b.shape).toEqual(a.shape);
  expect(Array.from(b.data as ArrayLike<number | bigint>)).toEqual(
    Array.from(a.data as ArrayLike<number | bigint>),
  );
}

/** `fn` throws a DataverError with this code (and a message matching `message`). */
export function expectTensorError(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isDataverError(error)).toBe(true);
    expect((error as DataverError).code).toBe(code);
    if (message) expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a DataverError');
}
