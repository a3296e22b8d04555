/**
 * The scripted client of the assignment: runs a command script through a
 * {@link Member} and writes what it delivers to `test_result_<id>_tom.txt`
 * what it receives directly to `test_result_<id>_uno.txt` and the membership
 * views to `test_result_<id>_views.txt` (one a line, see `formatView`).
 *
 * The result files hold one delivery a line, escaped as `result_line.ts`
 * says.
 *
 * @module
 */

import type { Delivery } from "../member/holdback.ts";
import { formatResultLine } from "./result_line.ts";
import { sleepFor } from "./sleep.ts";
import type { Member } from "../member/member.ts";
import { scenarioPayload } from "./script.ts";
import { text } from "../protocol/text.ts";
import { formatView } from "../protocol/view.ts";

const encoder = new TextEncoder();
import type { ScriptCommand } from "./script.ts";

/** Options of {@link runClient}. */
export interface ClientOptions {
  /** The folder for the result files. */
  outDir: string;
  /** Multiplies every `sleep` of the script. Default 1. */
  timeScale?: number;
  /** Waits this long after writing each delivery (a deliberately slow client). Default 0. */
  deliveryDelayMs?: number;
  /** Called with a line per message (the seed's log), only when set. */
  trace?: (line: string) => void;
}

/** A running client: its script, its result files and how to stop it. */
export interface RunningClient {
  /** Settles when the script has run to its end. */
  readonly scriptDone: Promise<void>;
  /** Closes the member and flushes and closes the files. */
  stop(): Promise<void>;
  /** Paths of the result files: deliveries, direct messages, membership views. */
  readonly files: { tom: string; uno: string; views: string };
}

/**
 * The result file of one client: one delivery a line, escaped and marked as the module doc
 * says (see {@linkcode formatResultLine}). Lines are gathered and
 * written in one call per event-loop turn (or per 64 KiB): a write per
 * delivery was a sixth of a client's time in a burst. `close()` writes the rest.
 */
class ResultFile {
  #file: Deno.FsFile;
  #buffer = new Uint8Array(64 * 1024);
  #used = 0;
  #scheduled = false;
  constructor(readonly path: string) {
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
  }
  /** Writes one delivery: `payload`, from `sender` ("" when unknown). */
  line(payload: Uint8Array, sender: string): void {
    this.#add(formatResultLine(payload, sender));
  }
  /** Writes one line of plain text (a view). */
  text(line: string): void {
    this.#add(encoder.encode(line));
  }
  #add(line: Uint8Array): void {
    if (this.#used + line.byteLength + 1 > this.#buffer.byteLength) this.flush();
    if (line.byteLength + 1 > this.#buffer.byteLength) {
      this.#write(line);
      this.#write(new Uint8Array([10]));
      return;
    }
    this.#buffer.set(line, this.#used);
    this.#buffer[this.#used + line.byteLength] = 10;
    this.#used += line.byteLength + 1;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }
  flush(): void {
    this.#scheduled = false;
    if (this.#used === 0) return;
    this.#write(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
  #write(bytes: Uint8Array): void {
    let written = 0;
    while (written < bytes.byteLength) written += this.#file.writeSync(bytes.subarray(written));
  }
  close(): void {
    this.flush();
    this.#file.close();
  }
}

/**
 * Starts writing the member's deliveries and direct messages to the result
 * files, one a line (escaped and, where the payload names another sender, marked: see the
 * module doc), and runs the script. `stop()` cuts a sleep short, however long.
 *
 * @param member A member that has joined the group.
 * @param commands The parsed script (see `parseScript`).
 * @param options Output folder and time scale.
 * @returns The running client.
 */
export function runClient(
  member: Member,
  commands: ScriptCommand[],
  options: ClientOptions,
): RunningClient {
  const trace = options.trace;
  const delay = options.deliveryDelayMs ?? 0;
  Deno.mkdirSync(options.outDir, { recursive: true });
  const tom = new ResultFile(
    `${options.outDir}/test_result_${member.id}_tom.txt`,
  );
  const uno = new ResultFile(
    `${options.outDir}/test_result_${member.id}_uno.txt`,
  );
  const views = new ResultFile(`${options.outDir}/test_result_${member.id}_views.txt`);
  const writers = [
    (async () => {
      // As many at once as are ready: one promise for many deliveries.
      for await (const batch of member.deliveredBatches()) {
        for (const delivery of batch) {
          tom.line(delivery.payload, deliverySender(delivery));
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
          trace?.(`Delivered ${text(delivery.payload)} as ${delivery.seq}`);
        }
      }
    })(),
    (async () => {
      for await (const message of member.direct()) {
        uno.line(message.payload, message.from);
        trace?.(`Received ${text(message.payload)} from ${message.from} !`);
      }
    })(),
    (async () => {
      for await (const view of member.views()) views.text(formatView(view));
    })(),
  ];
  let stopped = false;
  // Aborted by stop(): cuts a sleep short, however long.
  const stopping = new AbortController();
  const scale = options.timeScale ?? 1;
  const scriptDone = (async () => {
    for (const command of commands) {
      if (stopped) return;
      switch (command.kind) {
        case "multicast": {
          const payload = scenarioPayload(member.id, command.text);
          trace?.(`sending ${payload} from ${member.id} to all!`);
          await member.multicast(payload);
          break;
        }
        case "direct": {
          const payload = scenarioPayload(member.id, command.text);
          trace?.(`Sending ${payload} to ${command.to} !`);
          await member.send(command.to, payload);
          break;
        }
        case "sleep":
          await sleepFor(command.seconds * scale * 1000, stopping.signal);
          break;
      }
    }
  })();
  return {
    scriptDone,
    files: { tom: tom.path, uno: uno.path, views: views.path },
    async stop() {
      stopped = true;
      stopping.abort();
      await member.close();
      await Promise.allSettled(writers);
      await scriptDone.catch(() => {});
      tom.close();
      uno.close();
      views.close();
    },
  };
}

/** The sender a delivery's line names: the one its order's origin names, else its multicast's. */
function deliverySender(delivery: Delivery): string {
  const origin = delivery.origin;
  return origin === null ? delivery.sender : origin.key.slice(0, origin.key.indexOf("@"));
}
