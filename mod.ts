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
  messageProperties,
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
export { allocBytes, encodeText } from "./ffi/bytes.ts";
export { type Proxy, proxy, type ProxyHooks, type ProxyStats } from "./ffi/proxy.ts";
export { Monitor, type MonitorEvent, MonitorEvents, type MonitorEventType } from "./ffi/monitor.ts";
export { type CurveKeyPair, curveKeyPair, z85Decode, z85Encode } from "./ffi/curve.ts";
export { Broker, type BrokerCounters, type BrokerOptions } from "./roles/broker.ts";
export { Sequencer, type SequencerCounters, type SequencerOptions } from "./roles/sequencer.ts";
export {
  type BusReception,
  type DirectMessage,
  type LateJoin,
  Member,
  type MemberCounters,
  type MemberOptions,
} from "./roles/member.ts";
export { type Delivery, Holdback } from "./roles/holdback.ts";
export {
  type BusMessage,
  decodeBus,
  type Endpoints,
  endpoints,
  type Origin,
  ProtocolError,
  SEQUENCER_ID,
  START,
} from "./roles/protocol.ts";
export {
  countMulticasts,
  directTargets,
  loadScript,
  parseScript,
  type ScriptCommand,
  ScriptError,
} from "./roles/script.ts";
export { type ClientOptions, runClient, type RunningClient } from "./roles/client.ts";
export { type CurveClientOptions, type CurveServerOptions } from "./roles/curve.ts";
export { type FsyncPolicy } from "./roles/order_log.ts";
