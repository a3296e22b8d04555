/**
 * An unbounded async queue with one consumer: `push()` from producers,
 * `for await` from the consumer; `close()` ends the loop.
 *
 * @module
 */

/** A FIFO that an async iterator drains. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<T>) => void) | null = null;
  #closed = false;
  #drained: (() => void)[] = [];

  /** Adds an item (ignored once closed). */
  push(item: T): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** Ends iteration once the queued items are consumed. */
  close(): void {
    this.#closed = true;
    for (const resolve of this.#drained.splice(0)) resolve();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.({ value: undefined, done: true });
  }

  /**
   * Resolves once at most `level` items are queued: a producer awaits it to
   * be held back by a slow consumer.
   */
  async below(level: number): Promise<void> {
    while (this.size > level && !this.#closed) {
      await new Promise<void>((resolve) => this.#drained.push(resolve));
    }
  }

  /** Items queued and not yet consumed. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Iterates until closed. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#head < this.#items.length) {
          const value = this.#items[this.#head++]!;
          if (this.#drained.length > 0) {
            for (const resolve of this.#drained.splice(0)) resolve();
          }
          if (this.#head === this.#items.length) {
            this.#items = [];
            this.#head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.#closed) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => this.#waiter = resolve);
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
