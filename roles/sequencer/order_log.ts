/**
 * `OrderLog`: the sequencer's durable record of every number it gave, so
 * that a sequencer killed and started again with the same file continues
 * the sequence: no number reused, no gap.
 *
 * One line per order: `<G> <payload in base64> <origin or ->`. Orders are written (and,
 * by the fsync policy, made durable) BEFORE they are published, so an order
 * that anyone could have seen is always in the file. A torn last line (a
 * crash mid-write) was never published and is cut off on open.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./base64.ts";
import { formatOrigin, type Origin, parseOrigin } from "../protocol/bus.ts";

/**
 * When the log is made durable: `always` fsyncs every order; `batch` once
 * per batch of orders drained together (the default: the cost is shared by
 * a burst); `never` leaves it to the OS (a machine crash may lose orders,
 * a process crash does not).
 */
export type FsyncPolicy = "always" | "batch" | "never";

/** The fsync policies, for flag checking. */
export const FSYNC_POLICIES: readonly FsyncPolicy[] = [
  "always",
  "batch",
  "never",
];

/** An order read back from the log. */
export interface LoggedOrder {
  /** Its sequence number. */
  seq: number;
  /** Its payload. */
  payload: Uint8Array;
  /** Where its multicast came from, if known. */
  origin: Origin | null;
}

/** Standard base64, as `encodeBase64` writes it. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every this many orders the log remembers where a line starts, to read old orders back. */
const INDEX_STRIDE = 1024;

/** Options of {@link OrderLog.open}. */
export interface OrderLogOptions {
  /** When the log is made durable. */
  fsync: FsyncPolicy;
  /** How many of the last orders to read back. */
  keep: number;
  /** Called with the origin of every order in the log, oldest first. */
  onOrigin?: (origin: Origin) => void;
}

/** The durable order log. */
export class OrderLog {
  #file: Deno.FsFile;
  #policy: FsyncPolicy;
  #encoder = new TextEncoder();
  #pending: string[] = [];
  #path: string;
  /** The length of the file up to the last order committed. */
  #committed: number;
  /** fsync calls made so far. */
  syncs = 0;
  /** Where order `k * INDEX_STRIDE + 1` starts in the file, by k: a sparse index. */
  #index: number[];
  /** The highest order committed. */
  #highest: number;
  /** The length of the file with the queued lines, and the highest of them. */
  #queuedEnd: number;
  #queuedHighest: number;

  private constructor(
    file: Deno.FsFile,
    options: {
      policy: FsyncPolicy;
      path: string;
      length: number;
      highest: number;
      index: number[];
    },
  ) {
    this.#file = file;
    this.#policy = options.policy;
    this.#path = options.path;
    this.#committed = this.#queuedEnd = options.length;
    this.#highest = this.#queuedHighest = options.highest;
    this.#index = options.index;
  }

  /** The highest order committed to the file (0 if none). */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Opens (or creates) the log, reads back the last `keep` orders and cuts
   * off a torn last line.
   *
   * @param path The log file.
   * @param options When to fsync, how many of the last orders to return.
   * @returns The log, the highest number in it, and the last orders.
   * @throws {Error} naming the file and line of a corrupt record.
   */
  static open(
    path: string,
    options: OrderLogOptions,
  ): { log: OrderLog; highest: number; recent: LoggedOrder[] } {
    const { fsync: policy, keep, onOrigin = () => {} } = options;
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      bytes = new Uint8Array(0);
    }
    const complete = bytes.lastIndexOf(10) + 1;
    const lines = new TextDecoder().decode(bytes.subarray(0, complete)).split(
      "\n",
    );
    lines.pop();
    let highest = 0;
    let offset = 0;
    const offsets: number[] = [];
    const recent: LoggedOrder[] = [];
    lines.forEach((line, index) => {
      if (index % INDEX_STRIDE === 0) offsets.push(offset);
      // Lines are ASCII: a character is a byte.
      offset += line.length + 1;
      const [seqText = "", payloadText = "", originText = "-"] = line.split(" ");
      const seq = Number(seqText);
      const origin = originText === "-" ? null : parseOrigin(originText);
      if (
        !Number.isSafeInteger(seq) || seq !== highest + 1 || !BASE64.test(payloadText) ||
        payloadText.length % 4 !== 0 || (originText !== "-" && origin === null)
      ) {
        throw new Error(
          `Corrupt order log ${path}:${index + 1}: expected "${
            highest + 1
          } <base64 payload> <origin|->"`,
        );
      }
      highest = seq;
      if (origin !== null) onOrigin(origin);
      if (lines.length - index <= keep) {
        recent.push({ seq, payload: decodeBase64(payloadText), origin });
      }
    });
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true });
    } catch (error) {
      throw new Error(`Cannot open the order log ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (complete < bytes.byteLength) file.truncateSync(complete);
    file.seekSync(complete, Deno.SeekMode.Start);
    const log = new OrderLog(file, { policy, path, length: complete, highest, index: offsets });
    return { log, highest, recent };
  }

  /** Queues order `seq` for the next `commit()`. */
  add(seq: number, payload: Uint8Array, origin: Origin | null = null): void {
    const line = `${seq} ${encodeBase64(payload)} ${
      origin === null ? "-" : formatOrigin(origin)
    }\n`;
    this.#pending.push(line);
    this.#queuedHighest = seq;
    if ((seq - 1) % INDEX_STRIDE === 0) this.#index[(seq - 1) / INDEX_STRIDE] = this.#queuedEnd;
    this.#queuedEnd += line.length;
    if (this.#policy === "always") this.commit();
  }

  /**
   * Reads orders `first` to `last` (at most `limit` of them) back from the
   * file, for a member that is further behind than the sequencer's memory.
   * Only committed orders are read.
   *
   * @throws {Error} naming the file when it cannot be read or a line is not
   * the one expected.
   */
  read(first: number, last: number, limit: number): LoggedOrder[] {
    const end = Math.min(last, this.#highest, first + limit - 1);
    if (first < 1 || first > end) return [];
    const block = Math.floor((first - 1) / INDEX_STRIDE);
    const start = this.#index[block]!;
    using file = Deno.openSync(this.#path, { read: true });
    file.seekSync(start, Deno.SeekMode.Start);
    const orders: LoggedOrder[] = [];
    let seq = block * INDEX_STRIDE + 1;
    let rest = "";
    const chunk = new Uint8Array(256 * 1024);
    const decoder = new TextDecoder();
    let position = start;
    while (seq <= end && position < this.#committed) {
      const read = file.readSync(
        chunk.subarray(0, Math.min(chunk.byteLength, this.#committed - position)),
      );
      if (read === null || read === 0) break;
      position += read;
      const lines = (rest + decoder.decode(chunk.subarray(0, read))).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (seq > end) break;
        if (seq >= first) orders.push(this.#parse(line, seq));
        seq++;
      }
    }
    return orders;
  }

  /** One line read back: it must be order `seq`. */
  #parse(line: string, seq: number): LoggedOrder {
    const [seqText, payloadText = "", originText = "-"] = line.split(" ");
    const origin = originText === "-" ? null : parseOrigin(originText);
    if (Number(seqText) !== seq || (originText !== "-" && origin === null)) {
      throw new Error(
        `Corrupt order log ${this.#path}: expected order ${seq}, read ${
          JSON.stringify(line.slice(0, 40))
        }`,
      );
    }
    return { seq, payload: decodeBase64(payloadText), origin };
  }

  /**
   * Writes the queued orders and fsyncs them as the policy says.
   *
   * @throws {Error} naming the file when it cannot be written or synced
   * (a full disk): the queued orders are then dropped and cut off the file
   * again as far as it can be, so that it ends with the last committed one.
   */
  commit(): void {
    if (this.#pending.length === 0) return;
    const bytes = this.#encoder.encode(this.#pending.join(""));
    this.#pending.length = 0;
    const highest = this.#queuedHighest;
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        written += this.#file.writeSync(bytes.subarray(written));
      }
      if (this.#policy !== "never") {
        this.#file.syncDataSync();
        this.syncs++;
      }
    } catch (error) {
      this.#cutBack();
      throw new Error(`Cannot write the order log ${this.#path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#committed += bytes.byteLength;
    this.#highest = highest;
  }

  /** Cuts the file back to its last committed order, if it can. */
  #cutBack(): void {
    this.#queuedEnd = this.#committed;
    this.#queuedHighest = this.#highest;
    this.#index.length = Math.ceil(this.#highest / INDEX_STRIDE);
    try {
      this.#file.truncateSync(this.#committed);
      this.#file.seekSync(this.#committed, Deno.SeekMode.Start);
    } catch {
      // What is left past it is a torn line, or whole orders never
      // published: a restart cuts off the one and publishes the others.
    }
  }

  /** Commits what is queued and closes the file. */
  close(): void {
    this.commit();
    this.#file.close();
  }
}
