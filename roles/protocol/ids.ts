/**
 * The group's ids, reserved names, limits and endpoints.
 *
 * @module
 */

/** The sender id the sequencer uses on the bus. */
export const SEQUENCER_ID = "sequencer";
/** The sender id the broker uses for its notices on the direct channel. */
export const BROKER_ID = "broker";
/** The single frame the broker publishes once every participant is in. */
export const START = "start";
/**
 * What a participant's bus socket also subscribes to, followed by its id:
 * `start:c1`. No bus message begins so; the broker counts these to know
 * that each participant it let in has subscribed.
 */
export const ID_TOPIC_PREFIX = "start:";
/**
 * The largest payload a member sends, by default (1 MiB). The broker drops
 * the connection of a peer that sends a frame over this plus
 * {@link FRAME_SLACK} (libzmq's MAXMSGSIZE), so a rogue peer cannot make it
 * buffer without bound; members refuse larger payloads before sending.
 */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the protocol's own bytes (e.g. `ORDER <seq> <origin> `) around a payload. */
export const FRAME_SLACK = 256;

/** The default host and first port (the seed's 5559 to 5562). */
export const DEFAULT_HOST = "127.0.0.1";
/** The default base port. */
export const DEFAULT_BASE_PORT = 5559;

/** The four endpoints of a group, derived from host and base port. */
export interface Endpoints {
  /** Multicast in: clients and the sequencer publish here (broker's XSUB). */
  multicastIn: string;
  /** Multicast out: everyone subscribes here (broker's XPUB). */
  multicastOut: string;
  /** The start barrier (broker's REP). */
  barrier: string;
  /** Direct messages (broker's ROUTER). */
  direct: string;
}

/**
 * The endpoints of a group at `host` from `basePort` on.
 *
 * @param host The broker's host (connect) or interface (bind), e.g. "127.0.0.1" or "*".
 * @param basePort The first of the four ports.
 * @returns The tcp endpoints for base, base+1, base+2 and base+3.
 */
export function endpoints(host: string, basePort: number): Endpoints {
  const at = (offset: number) => `tcp://${host}:${basePort + offset}`;
  return {
    multicastIn: at(0),
    multicastOut: at(1),
    barrier: at(2),
    direct: at(3),
  };
}

/** True for a client id: 1 to 64 of `A-Z a-z 0-9 _ . -`, and not a reserved id. */
export function isClientId(id: string): boolean {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(id) && id !== SEQUENCER_ID && id !== BROKER_ID;
}

/**
 * Checks a client id: non-empty, printable, no commas (the script language's
 * separator), and not a reserved id.
 *
 * @param id The id to check.
 * @returns The id.
 * @throws {TypeError} naming what is wrong.
 */
export function checkClientId(id: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
    throw new TypeError(
      `Invalid client id ${JSON.stringify(id)}: expected 1 to 64 letters, digits, "_", "." or "-"`,
    );
  }
  if (id === SEQUENCER_ID || id === BROKER_ID) {
    throw new TypeError(`Invalid client id "${id}": it is reserved`);
  }
  return id;
}
