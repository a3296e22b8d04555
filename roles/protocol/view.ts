/**
 * Membership views: who is in the group, as the sequencer decides it, and
 * after which order each view takes effect. See PROTOCOL.md, "Views".
 *
 * @module
 */

import { checkClientId } from "./ids.ts";
import { ProtocolError } from "./bus.ts";
import { seqOf } from "./text.ts";

/** Why a member left a view: it said goodbye, or it fell silent and was evicted. */
export type LeaveReason = "leave" | "timeout";

/** The reasons, for parsing. */
const REASONS: readonly LeaveReason[] = ["leave", "timeout"];

/** A member that left, and why. */
export interface Departure {
  /** Its id. */
  id: string;
  /** Why it left. */
  why: LeaveReason;
}

/**
 * A membership view: number `view` (1, 2, 3 ... for one run of the
 * sequencer) takes effect after order `after`, at every member: it comes
 * after the delivery of order `after` and before that of order `after + 1`.
 */
export interface View {
  /** The view's number. */
  view: number;
  /** The order after which it takes effect (0: before the first). */
  after: number;
  /** The members, sorted. */
  members: string[];
  /** Who joined since the view before. */
  joined: string[];
  /** Who left since the view before, and why. */
  left: Departure[];
  /** The epoch of the sequencer that made it (a sequencer started again numbers from 1). */
  epoch?: string;
}

/** `a,b,c`, or `-` for none. */
function list(items: readonly string[]): string {
  return items.length === 0 ? "-" : items.join(",");
}

/** Encodes a view as its wire text: `VIEW <v> <after> <members> <joined> <left> [<epoch>]`. */
export function encodeView(view: View): string {
  const left = view.left.map(({ id, why }) => `${id}:${why}`);
  const epoch = view.epoch === undefined ? "" : ` ${view.epoch}`;
  return `VIEW ${view.view} ${view.after} ${list(view.members)} ${list(view.joined)} ${
    list(left)
  }${epoch}`;
}

/** The ids of a list (`-`: none), each checked. */
function ids(field: string): string[] {
  return field === "-" ? [] : field.split(",").map((id) => checkClientId(id));
}

/**
 * Decodes `VIEW <v> <after> <members> <joined> <left>`.
 *
 * @throws {ProtocolError} naming what was wrong.
 */
export function decodeView(words: readonly string[]): View {
  const [word, number = "", after = "", members = "", joined = "", left = "", epoch] = words;
  const view = seqOf(number);
  const position = seqOf(after, true);
  try {
    if (word !== "VIEW" || view === null || position === null) throw 0;
    if (words.length !== 6 && (words.length !== 7 || !/^[0-9a-f]{1,32}$/.test(epoch!))) throw 0;
    const departures = left === "-" ? [] : left.split(",").map((item) => {
      const [id = "", why = "", ...rest] = item.split(":");
      if (rest.length > 0 || !REASONS.includes(why as LeaveReason)) throw 0;
      return { id: checkClientId(id), why: why as LeaveReason };
    });
    const decoded = {
      view,
      after: position,
      members: ids(members),
      joined: ids(joined),
      left: departures,
    };
    return epoch === undefined ? decoded : { ...decoded, epoch };
  } catch {
    throw new ProtocolError(
      `expected "VIEW <n> <after> <members|-> <joined|-> <left id:leave|timeout,...|-> [<epoch>]", got ${
        JSON.stringify(words.join(" ").slice(0, 80))
      }`,
    );
  }
}

/**
 * A view as one line of text, as the client writes it to
 * `test_result_<id>_views.txt`: `view 3 after 1200: members c1 c2 c3; left c4 (timeout)`,
 * with ` (sequencer <epoch>)` after the position when the view names the sequencer's epoch.
 */
export function formatView(view: View): string {
  const parts = [`members ${view.members.join(" ") || "-"}`];
  if (view.joined.length > 0) parts.push(`joined ${view.joined.join(" ")}`);
  if (view.left.length > 0) {
    parts.push(`left ${view.left.map(({ id, why }) => `${id} (${why})`).join(" ")}`);
  }
  const of = view.epoch === undefined ? "" : ` (sequencer ${view.epoch})`;
  return `view ${view.view} after ${view.after}${of}: ${parts.join("; ")}`;
}
