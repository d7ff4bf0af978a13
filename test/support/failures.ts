import { expect } from 'vitest';
import { FailureError } from '../../src/index.js';

/** The FailureError a request rejects with; fails the test when it settles any other way. */
export async function failureOf(promise: Promise<unknown>): Promise<FailureError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(FailureError);
  return error as FailureError;
}
