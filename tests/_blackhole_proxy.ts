/**
 * A TCP proxy on 127.0.0.1 that a test can cut like a link without a reset:
 * once cut, it forwards nothing more either way and keeps every connection
 * open (new ones are accepted and left hanging), so a peer notices only by
 * its own timeouts; `restore()` forwards again for new connections.
 *
 * @module
 */

/** A proxy to `127.0.0.1:<target>`. */
export class BlackholeProxy {
  #listener: Deno.TcpListener;
  #cut = false;
  #conns = new Set<Deno.TcpConn>();
  #serving: Promise<void>;
  #pipes = new Set<Promise<void>>();

  /** Listens on a free port of 127.0.0.1, forwarding to `target`. */
  constructor(readonly target: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#serving = this.#serve();
  }

  /** Its port. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** From now on nothing goes through, and nothing is closed. */
  cut(): void {
    this.#cut = true;
  }

  /** New connections go through again (those cut stay cut). */
  restore(): void {
    this.#cut = false;
  }

  async #serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        if (this.#cut) continue;
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.target });
        this.#conns.add(upstream);
        this.#track(this.#pipe(conn, upstream));
        this.#track(this.#pipe(upstream, conn));
      }
    } catch {
      // Closed.
    }
  }

  #track(pipe: Promise<void>): void {
    this.#pipes.add(pipe);
    void pipe.finally(() => this.#pipes.delete(pipe));
  }

  /** Copies `from` to `to` while not cut; after a cut it reads and drops. */
  async #pipe(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (this.#cut) continue;
        let sent = 0;
        while (sent < n) sent += await to.write(buffer.subarray(sent, n));
      }
    } catch {
      // Either side closed.
    }
    if (!this.#cut) {
      try {
        to.closeWrite();
      } catch {
        // Closed already.
      }
    }
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await this.#serving;
    await Promise.all(this.#pipes);
  }
}
