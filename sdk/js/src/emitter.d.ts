/** A small typed event emitter. `Events` maps each event name to its payload. */
export class Emitter<Events extends Record<string, any> = Record<string, any>> {
  constructor();
  /** Listen; returns a function that stops listening. */
  on<K extends keyof Events & string>(name: K, fn: (event: Events[K]) => void): () => void;
  once<K extends keyof Events & string>(name: K, fn: (event: Events[K]) => void): () => void;
  off<K extends keyof Events & string>(name: K, fn: (event: Events[K]) => void): void;
  /** The next event of that name. */
  next<K extends keyof Events & string>(name: K): Promise<Events[K]>;
  emit<K extends keyof Events & string>(name: K, event: Events[K]): boolean;
}
