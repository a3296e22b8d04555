/**
 * `joinGroup()`: how a client or the sequencer joins: its sockets, the
 * start barrier, `start`, and the broker's subscription.
 *
 * @module
 */

import type { Context, Socket } from "../../ffi/mod.ts";
import { withDeadline } from "../deadline.ts";
import { SocketSet } from "../socket_set.ts";
import { curveClient, type CurveClientOptions } from "../curve/options.ts";
import { type Endpoints, ID_TOPIC_PREFIX, START } from "../protocol/ids.ts";
import { text } from "../protocol/text.ts";

/** The sockets of a participant that has joined. */
export interface JoinedSockets {
  /** Publishes to the bus (an XPUB: it sees the broker's subscription). */
  pub: Socket;
  /** Receives the bus. */
  sub: Socket;
  /** Sends and receives direct messages, with the participant's id. */
  dealer: Socket;
  /** True if the group had started before: the broker answered with "start". */
  late: boolean;
}

/**
 * Opens a participant's sockets and joins the group: sync with the
 * barrier (sending the id, which the broker refuses if a live participant
 * has it), wait for `start` (a running broker answers a late joiner with
 * "start" itself), then wait until the broker subscribes to our publisher,
 * so that no multicast is sent into the void. Every wait has the deadline.
 *
 * @param sockets Where to open the sockets.
 * @param at The group's endpoints.
 * @param id The participant's id (the DEALER's routing id).
 * @param timeoutMs How long the whole join may take.
 * @param topics What the bus socket subscribes to (prefixes of the first
 * frame); it must include a prefix of "start" (the broker counts those).
 * @param signal Ends the join early, with its reason.
 * @returns The sockets, ready.
 * @throws {Error} naming what did not come in time, and from where.
 */
export async function joinGroup(
  sockets: SocketSet,
  at: Endpoints,
  id: string,
  timeoutMs: number,
  topics: readonly string[] = [""],
  signal?: AbortSignal,
): Promise<JoinedSockets> {
  const pub = sockets.socket("XPUB");
  pub.setOption("XPUB_NODROP", true);
  // Every subscription, even one for a topic already subscribed: after the
  // broker restarts, the new connection's may come before the old one is gone.
  pub.setOption("XPUB_VERBOSE", true);
  pub.setOption("SNDHWM", 100_000);
  pub.connect(at.multicastIn);
  // Subscribed before the sync: a seed broker publishes "start" right
  // after the last sync.
  const sub = sockets.socket("SUB");
  sub.setOption("RCVHWM", 100_000);
  for (const topic of [...topics, `${ID_TOPIC_PREFIX}${id}`]) sub.setOption("SUBSCRIBE", topic);
  sub.connect(at.multicastOut);
  const deadline = performance.now() + timeoutMs;
  const late = await passBarrier(sockets, at, id, deadline, signal);
  // Only once let in: the broker tells a live holder of the id by its
  // DEALER, so this one must not be connected while it asks.
  const dealer = sockets.socket("DEALER");
  dealer.setOption("ROUTING_ID", id);
  // Queued only on a live connection: while none is (the broker died, or is
  // moving in HA mode), a send waits in the participant and goes to the
  // broker that comes, instead of dying with the old connection.
  dealer.setOption("IMMEDIATE", true);
  dealer.connect(at.direct);
  while (!late) {
    const frames = await withDeadline(
      deadline,
      `${id}: "start" from ${at.multicastOut}`,
      sub.receive(),
      signal,
    );
    if (frames.length === 1 && text(frames[0]!) === START) break;
  }
  // A seed broker's forwarder subscribes only once it runs, after "start".
  await withDeadline(
    deadline,
    `${id}: the broker's subscription at ${at.multicastIn}`,
    pub.receive(),
    signal,
  );
  return { pub, sub, dealer, late };
}

/**
 * Syncs with the start barrier, sending the participant's id: true if the
 * group had started (the reply is "start").
 *
 * @throws {Error} when the broker refuses the id (it is taken), saying why.
 */
async function passBarrier(
  sockets: SocketSet,
  at: Endpoints,
  id: string,
  deadline: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const req = sockets.socket("REQ");
  // An unanswered sync is worth nothing: closing must not linger on it.
  req.setOption("LINGER", 0);
  req.connect(at.barrier);
  await req.send(id);
  const [reply] = await withDeadline(
    deadline,
    `${id}: the start barrier's reply from ${at.barrier}`,
    req.receive(),
    signal,
  );
  req.close();
  const answer = reply === undefined ? "" : text(reply);
  if (answer.startsWith("refused: ")) {
    throw new Error(
      `${id}: the broker at ${at.barrier} refused to let it join: ${answer.slice(9)}`,
    );
  }
  return answer === START;
}

/**
 * The sockets of a participant (the sequencer or a member): in the shared
 * context if one is given, as CURVE clients of the broker in CURVE mode.
 */
export function participantSockets(options: {
  context?: Context;
  curve?: CurveClientOptions;
}): SocketSet {
  return new SocketSet(options.context, options.curve ? curveClient(options.curve) : undefined);
}

/**
 * Moves a participant's sockets from one broker's endpoints to another's
 * (HA mode: a new broker took over). The broker's XPUB then subscribes
 * anew, which the participant's XPUB reads as "the broker came back".
 *
 * @param sockets Its XPUB, its SUB (if it has one) and its DEALER.
 */
export function moveSockets(
  sockets: { pub?: Socket; sub?: Socket; dealer: Socket },
  from: Endpoints,
  to: Endpoints,
): void {
  const move = (socket: Socket | undefined, old: string, endpoint: string) => {
    if (socket === undefined || old === endpoint) return;
    try {
      socket.disconnect(old);
    } catch {
      // Not connected there (any more).
    }
    socket.connect(endpoint);
  };
  move(sockets.pub, from.multicastIn, to.multicastIn);
  move(sockets.sub, from.multicastOut, to.multicastOut);
  move(sockets.dealer, from.direct, to.direct);
}
