import type { MatchSession } from "./match.js";
import type { SnapshotMessage } from "./types.js";

export interface PredictorOptions<State, Input, Config> {
  /** one input's effect on the state; must not change `state` */
  predict: (state: State, input: Input, config: Config) => State;
  config?: Config;
  state?: State | null;
  /** 128 */
  maxPending?: number;
}

/** Prediction over unacknowledged inputs, reconciled with each authoritative state. */
export class Predictor<State, Input = Record<string, unknown>, Config = Record<string, any>> {
  constructor(options: PredictorOptions<State, Input, Config>);
  config: Config;
  authoritative: State | null;
  ack: number;
  pending: { seq: number; input: Input }[];
  /** the predicted state just before the last reconcile */
  previous: State | null;
  /** the authoritative state with every pending input applied */
  readonly state: State | null;
  setConfig(config: Config): void;
  add(seq: number, input: Input): void;
  drop(seq: number): void;
  reconcile(state: State | null, ack: number): State | null;
  reset(state?: State | null): void;
  /** Follow a session's inputs, snapshots (`extract` the state) and welcomes. */
  attach<View>(
    session: MatchSession<View, Input>,
    extract: (snapshot: SnapshotMessage<View>, session: MatchSession<View, Input>) => State | null,
  ): () => void;
}
