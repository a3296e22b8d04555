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
  #error: Error | undefined;
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
   * Ends iteration with `error`, thrown by the consumer's loop once the
   * queued items are consumed.
   */
  fail(error: Error): void {
    if (this.#closed) return;
    this.#error = error;
    this.close();
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

  #end(): Promise<IteratorResult<T>> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Iterates until closed (or failed: then the loop throws the error). */
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
        if (this.#closed) return this.#end();
        return new Promise((resolve, reject) =>
          this.#waiter = (result) =>
            result.done && this.#error ? reject(this.#error) : resolve(result)
        );
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
