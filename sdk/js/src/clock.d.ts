import type { AbortSignalLike, Clock } from "./types.js";

/** performance.now() and the global timers. */
export const systemClock: Clock;

/** Resolve after `ms`; reject when `signal` aborts first. */
export function sleep(ms: number, options?: { clock?: Clock; signal?: AbortSignalLike }): Promise<void>;
