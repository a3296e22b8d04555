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
  /** The consumer of {@link AsyncQueue.batches}, waiting. */
  #batchWaiter: (() => void) | null = null;
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
      return;
    }
    this.#items.push(item);
    const batchWaiter = this.#batchWaiter;
    if (batchWaiter !== null) {
      this.#batchWaiter = null;
      // After what the producer pushes in this same step: one batch for all of it.
      queueMicrotask(batchWaiter);
    }
  }

  /** Ends iteration once the queued items are consumed. */
  close(): void {
    this.#closed = true;
    this.#wakeProducers();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.({ value: undefined, done: true });
    const batchWaiter = this.#batchWaiter;
    this.#batchWaiter = null;
    batchWaiter?.();
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

  /** Lets the producers waiting in {@link AsyncQueue.below} look again. */
  #wakeProducers(): void {
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Items queued and not yet consumed. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  #end(): Promise<IteratorResult<T>> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * Iterates in batches: each step takes every item queued (at least one),
   * so a consumer pays one promise for many items. Until closed (or failed:
   * then the loop throws the error). Use either this or the plain iterator.
   */
  batches(): AsyncIterable<T[]> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<T[]>> => {
          while (this.size === 0 && !this.#closed) {
            await new Promise<void>((resolve) => this.#batchWaiter = resolve);
          }
          if (this.size === 0) {
            if (this.#error !== undefined) throw this.#error;
            return { value: undefined, done: true };
          }
          const batch = this.#items.slice(this.#head);
          this.#items = [];
          this.#head = 0;
          this.#wakeProducers();
          return { value: batch, done: false };
        },
        return: () => Promise.resolve({ value: undefined, done: true }),
      }),
    };
  }

  /** Iterates until closed (or failed: then the loop throws the error). */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#head < this.#items.length) {
          const value = this.#items[this.#head++]!;
          if (this.#drained.length > 0) this.#wakeProducers();
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
