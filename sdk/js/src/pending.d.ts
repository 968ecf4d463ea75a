import type { InputMessage } from "./types.js";

export const DEFAULT_MAX_PENDING: number;

/** Inputs sent and not yet acknowledged, in seq order. */
export class PendingInputs {
  constructor(options?: { max?: number });
  max: number;
  items: { seq: number; message: InputMessage }[];
  /** the highest ack seen */
  acked: number;
  readonly size: number;
  add(seq: number, message: InputMessage): void;
  /** Forget every input at or below `ack`; returns how many. */
  ack(ack: number): number;
  /** Forget one dropped input; true if it was kept. */
  drop(seq: number): boolean;
  /** Those to send again after a welcome: above `lastSeq`, in order. */
  resendAfter(lastSeq: number): { seq: number; message: InputMessage }[];
  seqs(): number[];
  clear(): void;
}
