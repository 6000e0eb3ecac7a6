// callback runs an application's callback: its throw must not break the
// SDK's bookkeeping (nor the calls after it), so it is reported (uncaught)
// after.
export function callback(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}
