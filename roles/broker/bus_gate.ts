/**
 * `BusGate`: the broker's rules for what it forwards on the bus. No I/O:
 * the broker feeds it each message with the id its connection
 * authenticated as (CURVE mode) and forwards only what it admits.
 *
 * - Orders must go up: one numbered at or below the highest order already
 *   forwarded means that a sequencer's numbering went back (a sequencer
 *   started again without its log, or with a log that lost its end), and
 *   one numbered `reach` or more above it (or above what the sequencer
 *   announced) cannot be real (a forged or corrupt number). Both are
 *   refused.
 * - In CURVE mode, every message must match its key's id: only the
 *   sequencer's key may publish orders, and a multicast's sender frame must
 *   name the id its key is bound to.
 *
 * @module
 */

import { decimalAt } from "../protocol/text.ts";
import { BATCH_SENDER, batchSpan, isOrderBatch } from "../protocol/order_batch.ts";
import { epochAt } from "../protocol/bus.ts";
import { EpochFence } from "../protocol/epoch_fence.ts";
import { SEQUENCER_ID } from "../protocol/ids.ts";

/** How far above the highest order forwarded an order may be numbered, by default. */
export const DEFAULT_GATE_REACH = 1_000_000;

const AT = 0x40;
const SEQUENCER_LENGTH = SEQUENCER_ID.length;
const BATCH_LENGTH = BATCH_SENDER.length;
const decoder = new TextDecoder();

/** True for an order (or a batch of orders): three frames, the second (the number) not empty. */
export function isOrder(message: Uint8Array[]): boolean {
  return message.length === 3 && message[1]!.byteLength > 0;
}

/** Decides which bus messages the broker forwards. */
export class BusGate {
  #highest = 0;
  /** HA mode: orders of an epoch older than the newest forwarded are refused. */
  #fence = new EpochFence();
  #sawBatch = false;
  #authenticated: boolean;
  #reach: number;
  #ordersFromInside = false;

  /**
   * @param authenticated CURVE mode: every message comes with the id its
   * key is bound to, and must match it.
   * @param reach See {@link DEFAULT_GATE_REACH}.
   */
  constructor(authenticated: boolean, reach = DEFAULT_GATE_REACH) {
    this.#authenticated = authenticated;
    this.#reach = reach;
  }

  /**
   * The sequencer runs inside the broker's process: from now on an order
   * that comes from outside (any connection) is refused.
   */
  takeOrdersFromInside(): void {
    this.#ordersFromInside = true;
  }

  /** The highest order forwarded so far (0 if none). */
  get highestOrder(): number {
    return this.#highest;
  }

  /**
   * The sequencer says where its numbering stands (when it starts, and when
   * the broker came back): orders above it are expected, within reach.
   *
   * @param highest The sequencer's highest order.
   */
  announce(highest: number): void {
    if (highest > this.#highest) this.#highest = highest;
  }

  /**
   * Checks one bus message.
   *
   * @param message Its frames.
   * @param userId The id its connection authenticated as (CURVE mode).
   * @param inside True for the orders of a sequencer in the broker's process.
   * @returns null to forward it, or why it is refused.
   */
  check(message: Uint8Array[], userId: string | undefined, inside = false): string | null {
    const order = isOrder(message);
    if (order && this.#ordersFromInside && !inside) {
      return "an order from a connection: this broker's sequencer runs inside it, and only its orders are forwarded";
    }
    if (this.#authenticated && !inside) {
      const refusal = this.#checkIdentity(message, userId ?? "", order);
      if (refusal !== null) return refusal;
    }
    if (!order) return null;
    const fenced = this.#checkEpoch(message);
    if (fenced !== null) return fenced;
    if (!isOrderBatch(message)) return this.#checkNumber(decimalAt(message[1]!, 0));
    this.#sawBatch = true;
    const span = batchSpan(message);
    // Malformed: the members refuse it themselves, saying why.
    return span === null ? null : this.#checkNumber(span.first, span.last);
  }

  /**
   * HA mode: an order of an epoch older than the newest forwarded is a
   * deposed sequencer's (or one without an epoch, after one with).
   */
  #checkEpoch(message: Uint8Array[]): string | null {
    const sender = message[0]!;
    const { epoch } = epochAt(sender, isOrderBatch(message) ? BATCH_LENGTH : SEQUENCER_LENGTH);
    // Malformed: the members refuse it themselves, saying why.
    if (epoch < 0 || this.#fence.admit(epoch)) return null;
    return `an order of epoch ${epoch}: the sequencer of epoch ${this.#fence.newest} leads now`;
  }

  /** True once a batch of orders was forwarded: the group batches, which a seed peer cannot read. */
  get sawBatch(): boolean {
    return this.#sawBatch;
  }

  /** Orders `seq` to `last` (one order: `last` = `seq`) must come next, within reach. */
  #checkNumber(seq: number, last = seq): string | null {
    // Malformed: the members refuse it themselves, saying why.
    if (seq === 0) return null;
    if (seq <= this.#highest) {
      return `order ${seq} is not above order ${this.#highest}, already forwarded: the sequencer's numbering went back`;
    }
    if (last - this.#highest >= this.#reach) {
      return `order ${last} is ${
        last - this.#highest
      } above order ${this.#highest}, the highest forwarded: the limit is ${this.#reach}`;
    }
    this.#highest = last;
    return null;
  }

  #checkIdentity(message: Uint8Array[], userId: string, isOrder: boolean): string | null {
    if (message.length !== 3) {
      return `a bus message of ${message.length} frames from "${userId}": expected 3`;
    }
    if (isOrder) {
      return userId === SEQUENCER_ID
        ? null
        : `an order from "${userId}": only the sequencer's key may publish orders`;
    }
    const sender = message[0]!;
    const at = sender.indexOf(AT);
    const claimed = decoder.decode(at < 0 ? sender : sender.subarray(0, at));
    return claimed === userId && userId !== SEQUENCER_ID
      ? null
      : `"${userId}" sent a multicast as ${JSON.stringify(claimed.slice(0, 80))}`;
  }
}
