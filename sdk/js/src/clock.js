// Time, injectable: the SDK reads the clock and sets timers only through a Clock, so tests
// can drive it by hand (see test/unit/fakes.js).

/** The real clock: performance.now() (monotonic, ms) and the global timers. */
export const systemClock = Object.freeze({
  now: () =>
    (globalThis.performance && typeof globalThis.performance.now === "function"
      ? globalThis.performance.now()
      : Date.now()),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle),
});

/**
 * Resolve after `ms` on `clock`; reject with `signal.reason` (or an AbortError) when the
 * signal aborts first.
 */
export function sleep(ms, { clock = systemClock, signal } = {}) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(abortReason(signal));
    };
    const handle = clock.setTimeout(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

function abortReason(signal) {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error("aborted");
  err.name = "AbortError";
  return err;
}
