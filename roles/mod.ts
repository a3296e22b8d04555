/**
 * The totally ordered multicast group, as a library: the broker, the fixed
 * sequencer and members that deliver in the sequencer's order, over the
 * binding in `ffi/`. See PROTOCOL.md.
 *
 * @example
 * ```ts ignore
 * import { Broker, Member, Sequencer } from "./mod.ts";
 * const broker = new Broker({ expect: 2 });
 * const [sequencer, member] = await Promise.all([
 *   Sequencer.join({}),
 *   Member.join({ id: "c1" }),
 * ]);
 * await member.multicast("c1###hello");
 * for await (const delivery of member.delivered()) break;
 * await member.close();
 * await sequencer.close();
 * await broker.close();
 * ```
 *
 * @module
 */

export { Broker, type BrokerCounters, type BrokerOptions } from "./broker/broker.ts";
export {
  LeadershipEnded,
  Sequencer,
  type SequencerCounters,
  type SequencerLeadership,
  type SequencerOptions,
} from "./sequencer/sequencer.ts";
export { type InSyncRegistry } from "./sequencer/replication.ts";
export { HaBroker, type HaBrokerOptions } from "./ha/ha_broker.ts";
export { type HaRole, HaSequencer, type HaSequencerOptions } from "./ha/ha_sequencer.ts";
export { type ActiveBroker, BrokerLocator } from "./ha/broker_locator.ts";
export { type EtcdGroup } from "./ha/group_keys.ts";
export { type FsyncPolicy } from "./sequencer/order_log.ts";
export {
  type BusReception,
  type DirectMessage,
  type LateJoin,
  Member,
  type MemberCounters,
  type MemberOptions,
} from "./member/member.ts";
export { type Delivery, Holdback, type HoldbackOptions } from "./member/holdback.ts";
export { type Endpoints, endpoints, SEQUENCER_ID, START } from "./protocol/ids.ts";
export { type Departure, formatView, type LeaveReason, type View } from "./protocol/view.ts";
export { type BusMessage, decodeBus, type Origin, ProtocolError } from "./protocol/bus.ts";
export { type CurveClientOptions, type CurveServerOptions } from "./curve/options.ts";
export { type GroupAddress, type RoleLogging } from "./role_options.ts";
export { type BusPort } from "./bus_port.ts";
export {
  type GaugeReading,
  groupFamilies,
  type RoleName,
  type RoleReading,
  type RoleSnapshot,
} from "./metrics/families.ts";
export { type MetricsOptions, type MetricsServer, serveMetrics } from "./metrics/server.ts";
export {
  EXPOSITION_CONTENT_TYPE,
  type MetricFamily,
  type MetricSample,
  renderExposition,
} from "./metrics/exposition.ts";
