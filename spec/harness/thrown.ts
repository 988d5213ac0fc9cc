// What a call throws, for specs that look at the error itself (its class,
// its message) or hand it on, as the CLI's reportFailure is handed one.

import * as assert from 'uvu/assert';

/** The error fn throws; a failed assertion if it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.unreachable('expected a throw');
}
