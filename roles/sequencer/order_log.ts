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
/** ... or every this many bytes, whichever comes first: a read skips at most that much. */
const INDEX_BYTES = 1024 * 1024;
/** A read back stops once it has this many bytes of lines (and at least one order). */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * Where some orders start in the file, every INDEX_STRIDE lines or
 * INDEX_BYTES bytes: the first order of each entry, and its offset.
 */
class LineIndex {
  seqs: number[] = [];
  offsets: number[] = [];
  #lines = INDEX_STRIDE;
  #bytes = 0;

  /** Notes that order `seq`'s line of `length` bytes starts at `offset`. */
  note(seq: number, offset: number, length: number): void {
    if (this.#lines >= INDEX_STRIDE || this.#bytes >= INDEX_BYTES) {
      this.seqs.push(seq);
      this.offsets.push(offset);
      this.#lines = 0;
      this.#bytes = 0;
    }
    this.#lines++;
    this.#bytes += length;
  }

  /** The entry at or before order `seq`: its first order and offset. */
  before(seq: number): { seq: number; offset: number } {
    let low = 0;
    let high = this.seqs.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.seqs[middle]! <= seq) low = middle;
      else high = middle - 1;
    }
    return { seq: this.seqs[low] ?? 1, offset: this.offsets[low] ?? 0 };
  }

  /** Forgets the entries past order `highest` (the file was cut back). */
  cut(highest: number): void {
    while (this.seqs.length > 0 && this.seqs.at(-1)! > highest) {
      this.seqs.pop();
      this.offsets.pop();
    }
    // The next line starts a new entry.
    this.#lines = INDEX_STRIDE;
  }
}

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
  /** Where some orders start in the file: a sparse index. */
  #index: LineIndex;
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
      index: LineIndex;
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
    const offsets = new LineIndex();
    const recent: LoggedOrder[] = [];
    lines.forEach((line, index) => {
      // Lines are ASCII: a character is a byte.
      offsets.note(index + 1, offset, line.length + 1);
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
    this.#index.note(seq, this.#queuedEnd, line.length);
    this.#queuedEnd += line.length;
    if (this.#policy === "always") this.commit();
  }

  /**
   * Reads orders `first` to `last` (at most `limit` of them, and about
   * READ_BYTES of lines) back from the file, for a member that is further
   * behind than the sequencer's memory. Only committed orders are read; it
   * skips at most INDEX_BYTES (or INDEX_STRIDE lines) to reach `first`.
   *
   * @throws {Error} naming the file when it cannot be read or a line is not
   * the one expected.
   */
  read(first: number, last: number, limit: number): LoggedOrder[] {
    const end = Math.min(last, this.#highest, first + limit - 1);
    if (first < 1 || first > end) return [];
    const entry = this.#index.before(first);
    const start = entry.offset;
    using file = Deno.openSync(this.#path, { read: true });
    file.seekSync(start, Deno.SeekMode.Start);
    const orders: LoggedOrder[] = [];
    let seq = entry.seq;
    let taken = 0;
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
        if (seq > end || taken >= READ_BYTES) return orders;
        if (seq >= first) {
          orders.push(this.#parse(line, seq));
          taken += line.length;
        }
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
    this.#index.cut(this.#highest);
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
