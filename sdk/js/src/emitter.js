// A small event emitter that runs the same in browsers and Node (no Node built-ins).

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
  }

  /** Call `fn(event)` on every `name` event; returns a function that removes it. */
  on(name, fn) {
    let set = this._listeners.get(name);
    if (!set) {
      set = new Set();
      this._listeners.set(name, set);
    }
    set.add(fn);
    return () => this.off(name, fn);
  }

  /** Call `fn(event)` on the next `name` event only. */
  once(name, fn) {
    const off = this.on(name, (event) => {
      off();
      fn(event);
    });
    return off;
  }

  off(name, fn) {
    const set = this._listeners.get(name);
    if (set) set.delete(fn);
  }

  /** The next `name` event, as a promise. */
  next(name) {
    return new Promise((resolve) => this.once(name, resolve));
  }

  /**
   * Deliver `event` to every listener of `name`. A listener that throws does not stop the
   * others, nor the SDK: its error is reported asynchronously (as an uncaught error).
   */
  emit(name, event) {
    const set = this._listeners.get(name);
    if (!set || set.size === 0) return false;
    for (const fn of [...set]) {
      try {
        fn(event);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return true;
  }
}
