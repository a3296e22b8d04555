/**
 * ZeroMQ for Deno over the system libzmq, and a totally ordered multicast
 * group built on it. The binding alone is `./zmq` (`ffi/mod.ts`), the group
 * `./group` (`roles/mod.ts`); this module has both, and the assignment's
 * scripted client.
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

export * from "./ffi/mod.ts";
export * from "./roles/mod.ts";
export {
  countMulticasts,
  directTargets,
  loadScript,
  parseScript,
  type ScriptCommand,
  ScriptError,
} from "./roles/harness/script.ts";
export { type ClientOptions, runClient, type RunningClient } from "./roles/harness/client.ts";
