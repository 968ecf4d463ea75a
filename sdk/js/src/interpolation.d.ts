export const DEFAULT_DELAY_TICKS: number;
export const DEFAULT_CAPACITY: number;

export function lerp(a: number, b: number, t: number): number;
/** The short way round, in radians. */
export function lerpAngle(a: number, b: number, t: number): number;

export interface RowSpec<R> {
  /** the id's index or property (0) */
  key?: number | string;
  /** numeric fields blended linearly */
  fields?: (number | string)[];
  /** angles (radians) blended the short way */
  angles?: (number | string)[];
  /** true: show `b` as it is (respawn, teleport) */
  snap?: (a: R, b: R) => boolean;
}

/** `b`'s rows with their numeric fields blended from the row of `a` with the same key. */
export function interpolateRows<R>(rowsA: readonly R[] | null | undefined, rowsB: readonly R[], t: number, spec?: RowSpec<R>): R[];

/** A snap test: moved farther than `maxDistance`, or a `flags` field changed. */
export function snapWhen(options?: {
  x?: number | string;
  y?: number | string;
  maxDistance?: number;
  flags?: (number | string)[];
}): (a: any, b: any) => boolean;

export interface Sample<S> {
  a: S;
  b: S;
  /** 0 → a, 1 → b */
  t: number;
  /** the (fractional) tick drawn */
  tick: number;
}

/** Snapshots by tick, sampled a little in the past. */
export class SnapshotBuffer<S extends { tick: number } = { tick: number } & Record<string, any>> {
  constructor(options?: { tickRate?: number; delayMs?: number; capacity?: number; resyncMs?: number });
  capacity: number;
  resyncMs: number;
  tickRate: number;
  tickMs: number;
  /** how far in the past to draw; 2 ticks unless set */
  delayMs: number;
  entries: { tick: number; time: number; at: number; snapshot: S }[];
  /** our clock minus the server's (ms), null until the first snapshot */
  offset: number | null;
  readonly size: number;
  readonly latest: S | null;
  setTickRate(tickRate: number): void;
  clear(): void;
  /** Add a snapshot that arrived at `at` (the clock `sample` is given). */
  push(snapshot: S, at: number): void;
  renderTime(now: number): number | null;
  sample(now: number): Sample<S> | null;
  view<V>(now: number, blend: (a: S, b: S, t: number) => V): V | null;
}
