/**
 * ZeroMQ for Deno over the system libzmq, and a totally ordered multicast
 * group built on it.
 *
 * @example
 * ```ts ignore
 * import { Context } from "./mod.ts";
 * using ctx = new Context();
 * using pull = ctx.socket("PULL");
 * pull.bind("tcp://127.0.0.1:5555");
 * using push = ctx.socket("PUSH");
 * push.connect("tcp://127.0.0.1:5555");
 * await push.send("text");
 * const [frame] = await pull.receive();
 * ```
 *
 * @module
 */

export { Context, zmqVersion } from "./ffi/context.ts";
export {
  type Frame,
  type Message,
  Socket,
  type SocketOwner,
} from "./ffi/socket.ts";
export {
  DEFAULT_LINGER_MS,
  type KindReadValue,
  type KindValue,
  type OptionKind,
  type OptionReadValue,
  type Options,
  type OptionSpec,
  type OptionValue,
  type ReadableOption,
  type SocketOption,
  SocketOptions,
  type SocketType,
  SocketTypes,
  type WritableOption,
} from "./ffi/constants.ts";
export { ZmqError } from "./ffi/error.ts";
export {
  type Proxy,
  proxy,
  type ProxyHooks,
  type ProxyStats,
} from "./ffi/proxy.ts";
export {
  Monitor,
  type MonitorEvent,
  MonitorEvents,
  type MonitorEventType,
} from "./ffi/monitor.ts";
export { type CurveKeyPair, curveKeyPair } from "./ffi/curve.ts";
