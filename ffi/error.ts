/**
 * `ZmqError` and the one place that turns a failed libzmq call into it.
 *
 * @module
 */

import { readCString } from "./_util.ts";
import { zmqLib } from "./lib.ts";

const HAUSNUMERO = 156384712;

/** errno values by name, for the codes libzmq reports (Linux numbering, plus libzmq's own). */
export const ERRNO = {
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  ENOTSUP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENOBUFS: 105,
  ENOTCONN: 107,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EFSM: HAUSNUMERO + 51,
  ENOCOMPATPROTO: HAUSNUMERO + 52,
  ETERM: HAUSNUMERO + 53,
  EMTHREAD: HAUSNUMERO + 54,
} as const;

const macErrno: Record<number, string> = {
  35: "EAGAIN",
  38: "ENOTSOCK",
  40: "EMSGSIZE",
  43: "EPROTONOSUPPORT",
  45: "ENOTSUP",
  47: "EAFNOSUPPORT",
  48: "EADDRINUSE",
  49: "EADDRNOTAVAIL",
  55: "ENOBUFS",
  57: "ENOTCONN",
  61: "ECONNREFUSED",
  65: "EHOSTUNREACH",
};

const codeByErrno = new Map<number, string>(
  Object.entries(ERRNO).map(([code, errno]) => [errno, code]),
);

/** The symbolic name of an errno value, such as `"EADDRINUSE"`. */
export function errnoCode(errno: number): string {
  if (Deno.build.os === "darwin" && macErrno[errno]) return macErrno[errno];
  return codeByErrno.get(errno) ?? `E${errno}`;
}

/**
 * An error reported by libzmq, or by this binding about a socket's state.
 *
 * @example
 * ```ts ignore
 * try { sock.bind("tcp://127.0.0.1:5559"); } catch (e) {
 *   if (e instanceof ZmqError && e.code === "EADDRINUSE") console.log("taken");
 * }
 * ```
 */
export class ZmqError extends Error {
  /** Always `"ZmqError"`. */
  override name = "ZmqError";
  /** The numeric errno (0 for errors raised by the binding itself). */
  readonly errno: number;
  /** The symbolic code, e.g. `"EADDRINUSE"`, `"EHOSTUNREACH"` or `"ECLOSED"`. */
  readonly code: string;

  /**
   * Creates an error.
   *
   * @param message What failed, naming the call and the endpoint.
   * @param errno The errno value.
   * @param code The symbolic code; derived from `errno` when omitted.
   */
  constructor(message: string, errno: number, code?: string) {
    super(message);
    this.errno = errno;
    this.code = code ?? errnoCode(errno);
  }
}

/** Builds a `ZmqError` from the current `zmq_errno()` for the call `what`. */
export function lastError(what: string): ZmqError {
  const lib = zmqLib();
  const errno = lib.zmq_errno();
  const text = readCString(lib.zmq_strerror(errno)).toLowerCase();
  return new ZmqError(`${what}: ${text} (${errnoCode(errno)})`, errno);
}

/** Throws a `ZmqError` for `what` when `rc` is -1; returns `rc` otherwise. */
export function check(rc: number, what: string): number {
  if (rc === -1) throw lastError(what);
  return rc;
}

/**
 * True if `error` is the `ZmqError` of code `"ECLOSED"` that a pending call
 * gets when its socket (or context) closes: the normal end of a loop.
 *
 * @param error Whatever was thrown.
 */
export function isClosed(error: unknown): boolean {
  return error instanceof ZmqError && error.code === "ECLOSED";
}

/** The error a pending or new operation gets once its socket is closed. */
export function closedError(what: string): ZmqError {
  return new ZmqError(`${what}: the socket is closed`, 0, "ECLOSED");
}
