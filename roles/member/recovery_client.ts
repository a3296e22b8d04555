/**
 * `RecoveryClient`: when a member asks the sequencer for what it missed,
 * and what it does with the answers. No I/O and no timers: the member feeds
 * it a clock, a view of its holdback queue and the sequencer's `HIGHEST`
 * answers, and carries out the actions it returns. See PROTOCOL.md,
 * "Recovery".
 *
 * @module
 */

/** What the member must do. */
export type RecoveryAction =
  /** Send `HELLO <delivered>`. */
  | { kind: "hello"; delivered: number }
  /** Send `RETRANSMIT <first> <last|*> <delivered>` for each range. */
  | { kind: "retransmit"; ranges: [number, number | null][]; delivered: number }
  /** Go on at order `to`: orders `from` to `to - 1` are no longer held. */
  | { kind: "skip"; from: number; to: number }
  /** Send again the own multicasts that are due (see `SendWindow.due`). */
  | { kind: "resend" }
  /** The sequencer restarted: say so (a retransmit action follows). */
  | { kind: "restarted" }
  /** Stop for good, saying why. */
  | { kind: "fail"; why: string }
  /** The sequencer has not answered for `forMs` (0: it answers again): say so. */
  | { kind: "silent"; forMs: number }
  /** Drop the answer as bad input, saying why. */
  | { kind: "ignore"; why: string };

/** What the recovery client needs to see of the holdback queue. */
export interface HoldbackView {
  /** The next order to deliver. */
  readonly next: number;
  /** The highest order seen (0 if none). */
  readonly highestOrder: number;
  /** Orders held back now. */
  readonly heldOrders: number;
  /** Multicasts held back now. */
  readonly heldMessages: number;
  /** The gaps between the next order and the highest seen, at most `limit`. */
  missingRanges(limit: number): [number, number][];
}

/** The sequencer's `HIGHEST` answer. */
export interface Highest {
  /** The highest order it has given (0 if none). */
  seq: number;
  /** Changes each time it starts. */
  epoch: string;
  /** The oldest order it still holds. */
  lowest: number;
  /** The position the request said the member had delivered, echoed. */
  delivered?: number;
}

import { CATCH_UP_CHUNK } from "../protocol/recovery.ts";

/** At most this many gaps are asked for in one round. */
const MAX_RANGES = 64;
/** The back-off of unanswered requests doubles up to this, ms. */
const MAX_BACKOFF_MS = 5000;
/** `HELLO` is sent at most this many times until the sequencer answers once. */
const HELLO_RETRIES = 20;

/** A member's side of recovery. */
export class RecoveryClient {
  #afterMs: number;
  #lastRequest = 0;
  #awaitingAnswer = false;
  #backoffMs = 0;
  #helloRetries = HELLO_RETRIES;
  #epoch = "";
  /** Held multicasts known never to be ordered (not counted as pending). */
  #orphans = 0;
  /** The highest position a request of this member said it had delivered. */
  #askedUpTo = 0;
  /** The highest order the sequencer said it had given. */
  #highestKnown = 0;
  /** When an order below the next one last made the member ask (ms). */
  #probedAt = -Infinity;
  /** Answers still to come for the last round of requests. */
  #roundLeft = 0;
  /** The last round asked for a whole chunk: the member is catching up. */
  #fullRound = false;
  /** Orders the sequencer no longer holds may be skipped (a late joiner's first answer only). */
  #maySkip: boolean;
  #heartbeatMs: number;
  #lastBeat = -Infinity;
  /** When the sequencer last answered (ms), and whether its silence was reported. */
  #lastAnswer = -Infinity;
  #silenceReported = false;
  #lastTick = Infinity;
  /** When the member's process last went on after being frozen (ms). */
  #thawedAt = -Infinity;

  /**
   * @param recoveryAfterMs How long nothing may be delivered while something
   * is pending before the member asks (and the first back-off).
   * @param options `late`: the member joined a running group, so the orders
   * its first answer says are gone are skipped (otherwise a member that
   * needs orders the sequencer no longer holds stops, saying why);
   * `heartbeatMs`: how often it greets the sequencer whatever happens
   * (0: never), so that it learns of a lost last order within that long and
   * the sequencer knows it is alive.
   */
  constructor(recoveryAfterMs: number, options: { late?: boolean; heartbeatMs?: number } = {}) {
    this.#afterMs = recoveryAfterMs;
    this.#maySkip = options.late ?? false;
    this.#heartbeatMs = options.heartbeatMs ?? 0;
  }

  /** The sequencer's epoch, "" until it answered once. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Greets the sequencer: learns its epoch (and highest order), asks for nothing. */
  hello(now: number, view: HoldbackView): RecoveryAction {
    this.#lastRequest = now;
    this.#helloRetries--;
    return { kind: "hello", delivered: this.#position(view) };
  }

  /** How far the member has delivered, as its next request says (and remembers). */
  #position(view: HoldbackView): number {
    this.#askedUpTo = Math.max(this.#askedUpTo, view.next - 1);
    return view.next - 1;
  }

  /**
   * An order came on the bus numbered below the next one to deliver: a
   * late copy of one retransmitted, or a sequencer that numbers again what
   * was delivered. Ask at once (at most once per `recoveryAfterMs`): the
   * answer's echo tells the two apart.
   */
  staleOrder(now: number, view: HoldbackView): RecoveryAction | null {
    if (now - this.#probedAt < this.#afterMs) return null;
    this.#probedAt = now;
    // Not counted as a request: the back-off of retransmissions is not held up by it.
    return { kind: "hello", delivered: this.#position(view) };
  }

  /**
   * Asks for the gaps only (orders already held are not asked for again),
   * then everything after the highest order seen: a lost last order, and the
   * `HIGHEST` that answers the round. While a request is unanswered the next
   * waits a doubling back-off: a cut link costs a handful, not a storm.
   */
  retransmit(now: number, view: HoldbackView): RecoveryAction {
    this.#backoffMs = this.#awaitingAnswer
      ? Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS)
      : this.#afterMs;
    this.#awaitingAnswer = true;
    this.#lastRequest = now;
    // At most a chunk a round: the next round follows its answers.
    let budget = CATCH_UP_CHUNK;
    const ranges: [number, number | null][] = [];
    for (const [first, last] of view.missingRanges(MAX_RANGES)) {
      if (budget <= 0) break;
      const end = Math.min(last, first + budget - 1);
      ranges.push([first, end]);
      budget -= end - first + 1;
    }
    if (budget > 0) ranges.push([Math.max(view.next, view.highestOrder + 1), null]);
    this.#roundLeft = ranges.length;
    this.#fullRound = budget <= 0;
    return { kind: "retransmit", ranges, delivered: this.#position(view) };
  }

  /**
   * The periodic check: asks when something is pending and nothing was
   * delivered since `lastProgress` for `recoveryAfterMs`, and greets a
   * sequencer that has not answered yet.
   *
   * @param ownInFlight Own multicasts not yet delivered.
   */
  tick(
    now: number,
    view: HoldbackView,
    lastProgress: number,
    ownInFlight: number,
  ): RecoveryAction[] {
    const actions: RecoveryAction[] = [];
    // A long gap between ticks: this process was frozen (SIGSTOP, a debugger,
    // a laptop asleep), not the sequencer silent; and what it has queued is
    // to be read before it asks for anything.
    if (now - this.#lastTick > Math.max(2 * this.#heartbeatMs, 10 * this.#afterMs)) {
      this.#lastAnswer = Math.max(this.#lastAnswer, now);
      this.#thawedAt = now;
    }
    this.#lastTick = now;
    lastProgress = Math.max(lastProgress, this.#thawedAt);
    // Orders the sequencer said it gave and that are not here are pending too.
    const pending = view.heldOrders > 0 || view.heldMessages > this.#orphans || ownInFlight > 0 ||
      this.#highestKnown >= view.next;
    const wait = this.#awaitingAnswer ? this.#backoffMs : this.#afterMs;
    if (pending && now - lastProgress >= this.#afterMs && now - this.#lastRequest >= wait) {
      actions.push(this.retransmit(now, view));
    }
    // Until the sequencer answered once, greet it again: its epoch is what
    // tells a later restart apart.
    if (this.#epoch === "" && this.#helloRetries > 0 && now - this.#lastRequest >= this.#afterMs) {
      actions.push(this.hello(now, view));
    } else if (this.#beatDue(now)) {
      this.#lastBeat = now;
      actions.push({ kind: "hello", delivered: this.#position(view) });
    }
    const silentFor = now - this.#lastAnswer;
    if (
      this.#heartbeatMs > 0 && this.#epoch !== "" && !this.#silenceReported &&
      silentFor >= 3 * this.#heartbeatMs
    ) {
      this.#silenceReported = true;
      actions.push({ kind: "silent", forMs: silentFor });
    }
    return actions;
  }

  /**
   * True when the heartbeat is due (five times slower until the sequencer
   * has answered once: it may have been down when the member joined, or be a
   * seed sequencer, which never answers), and no round of requests is waiting for its answers
   * (they tell as much, and an answer to a greeting would look like the
   * end of the round).
   */
  #beatDue(now: number): boolean {
    const beat = this.#heartbeatMs;
    // Never answered (it was down, or it is a seed sequencer): greet it now and then all the same.
    const every = this.#epoch === "" ? 5 * beat : beat;
    if (beat <= 0 || now - this.#lastBeat < every) return false;
    if (this.#epoch === "" && this.#helloRetries > 0) return false;
    return this.#roundLeft === 0 || now - this.#lastRequest >= 5 * beat;
  }

  /**
   * The sequencer answered: first part. Its numbering must not have gone
   * back below what the member had delivered when it asked (the echo), and
   * orders older than it still holds are skipped. The member carries these
   * out, then calls {@link RecoveryClient.settle} with the same answer.
   *
   * @param lastProgress When the member last delivered (ms): one that is
   * still delivering is not yet judged too far behind.
   */
  answered(
    now: number,
    answer: Highest,
    view: HoldbackView,
    lastProgress = -Infinity,
  ): RecoveryAction[] {
    const delivered = answer.delivered ?? 0;
    if (delivered > this.#askedUpTo) {
      return [{
        kind: "ignore",
        why:
          `a HIGHEST that echoes position ${delivered}, which no request of this member said (it said ${this.#askedUpTo} at most)`,
      }];
    }
    if (answer.seq < delivered) {
      return [{
        kind: "fail",
        why:
          `the sequencer (epoch ${answer.epoch}) says its highest order is ${answer.seq}, but this member had delivered up to ${delivered} when it asked: its numbering went back (a sequencer started again without its --log, or with a log that lost its end), so its numbers would name other messages than the ones delivered; refusing it and stopping`,
      }];
    }
    this.#awaitingAnswer = false;
    this.#lastAnswer = now;
    const silence = this.#silenceReported ? [{ kind: "silent", forMs: 0 } as const] : [];
    this.#silenceReported = false;
    const maySkip = this.#maySkip;
    this.#maySkip = false;
    if (view.next < answer.lowest && view.next <= answer.seq) {
      if (maySkip) return [...silence, { kind: "skip", from: view.next, to: answer.lowest }];
      // Still delivering what it had queued (a member that was frozen): the
      // orders it lacks may be among them. A later answer decides.
      if (now - lastProgress < this.#afterMs) return silence;
      return [{ kind: "fail", why: tooFarBehind(view.next, answer) }];
    }
    return silence;
  }

  /**
   * The sequencer answered: second part, once what `answered()` returned is
   * done. When everything it gave is delivered, held multicasts without an
   * order will not get one, and own multicasts still in flight were lost on
   * the way: they are sent again (the sequencer orders each origin once). A
   * new epoch means it restarted and lost what it had not logged: ask again.
   *
   * @param ownInFlight Own multicasts not yet delivered.
   */
  settle(now: number, answer: Highest, view: HoldbackView, ownInFlight: number): RecoveryAction[] {
    const restarted = this.#epoch !== "" && this.#epoch !== answer.epoch;
    this.#epoch = answer.epoch;
    this.#highestKnown = answer.seq;
    const roundDone = this.#roundLeft === 1;
    this.#roundLeft = Math.max(0, this.#roundLeft - 1);
    if (view.next > answer.seq) {
      this.#orphans = view.heldMessages;
      return ownInFlight > 0 ? [{ kind: "resend" }] : [];
    }
    if (restarted) return [{ kind: "restarted" }, this.retransmit(now, view)];
    // A round of catching up is answered and the member is still far behind:
    // the next round, now (a small gap is left to the periodic check, since
    // under load the newest orders are always still on their way).
    const farBehind = this.#fullRound || answer.seq - view.next >= CATCH_UP_CHUNK;
    return roundDone && farBehind ? [this.retransmit(now, view)] : [];
  }

  /** The broker came back (a second subscription): ask at once. */
  onBrokerBack(now: number, view: HoldbackView): RecoveryAction {
    return this.retransmit(now, view);
  }

  /** The sequencer has no recovery service (a seed sequencer): stop greeting it. */
  noService(): void {
    this.#helloRetries = 0;
  }
}

/** Why a member cannot go on: it needs orders that the sequencer no longer holds. */
function tooFarBehind(next: number, answer: Highest): string {
  return `orders ${next}..${
    answer.lowest - 1
  } are no longer held by the sequencer: it holds ${answer.lowest}..${answer.seq}, the last ${
    answer.seq - answer.lowest + 1
  } in memory, and this member fell further behind than that, so it cannot deliver them without a gap; stopping. Start the sequencer with a --log (it then serves every order from disk) or a larger --history`;
}
