/**
 * The ZeroMQ binding alone: the system libzmq through `Deno.dlopen`, with
 * every socket type, typed options, and async send and receive that never
 * block the main thread. It knows nothing of the group.
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

export { Context, type ContextInit, zmqHas, zmqVersion } from "./context.ts";
export {
  type Frame,
  type Message,
  messageProperties,
  type OperationOptions,
  type PollEvents,
  type PollOptions,
  type PollResult,
  Socket,
  type SocketOwner,
} from "./socket.ts";
export { Poller, type PollerWaitOptions, type PollItem } from "./poller.ts";
export {
  type ContextOption,
  ContextOptions,
  type ContextOptionSpec,
  type ContextOptionValue,
  DEFAULT_LINGER_MS,
  type KindReadValue,
  type KindValue,
  type OptionKind,
  type OptionReadValue,
  type Options,
  type OptionSpec,
  type OptionValue,
  type ReadableContextOption,
  type ReadableOption,
  type SocketOption,
  SocketOptions,
  type SocketType,
  SocketTypes,
  type WritableContextOption,
  type WritableOption,
} from "./constants.ts";
export { isClosed, ZmqError } from "./error.ts";
export { allocBytes, encodeText } from "./bytes.ts";
export { type Proxy, proxy, type ProxyHooks, type ProxyOptions, type ProxyStats } from "./proxy.ts";
export { Monitor, type MonitorEvent, MonitorEvents, type MonitorEventType } from "./monitor.ts";
export { type CurveKeyPair, curveKeyPair, curvePublic, z85Decode, z85Encode } from "./curve.ts";
export type { MonitorOptions } from "./monitor.ts";
export {
  ZapAuthenticator,
  type ZapAuthenticatorOptions,
  type ZapCurveClient,
  type ZapDenial,
  type ZapDenialReason,
  type ZapSocketFactory,
  type ZapStats,
} from "./zap.ts";
