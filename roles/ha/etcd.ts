/**
 * A small client of etcd's v3 JSON gateway (etcd 3.4, `POST /v3/...`), over
 * `fetch`: the key-value, lease and watch calls that leader election and
 * fencing need, and no more. Keys and values are text here (UTF-8, sent as
 * base64, as the gateway wants bytes); revisions are numbers; lease ids,
 * 64-bit, stay decimal strings, as the gateway writes them.
 *
 * Every call has a timeout, and tries the next endpoint of the list when one
 * cannot be reached or does not answer in time; the endpoint that answered
 * last is tried first next time. A call that etcd answered with an error is
 * not retried elsewhere. A call retried after a timeout may have been applied
 * by the endpoint that did not answer: callers keep their requests
 * idempotent (a create-if-absent transaction, a revoke) or harmless (a lease
 * grant that is never kept alive expires by its TTL).
 *
 * @example Put and read a key
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 *
 * const etcd = new EtcdClient("http://127.0.0.1:2379,http://127.0.0.1:22379");
 * const lease = await etcd.leaseGrant(2);
 * await etcd.put("group/g/broker", "tcp://127.0.0.1:5559", { lease: lease.id });
 * const { kvs } = await etcd.range("group/g/", { prefix: true });
 * console.log(kvs.map((kv) => `${kv.key}=${kv.value}@${kv.createRevision}`));
 * ```
 *
 * @module
 */

/** How long one call may wait for one endpoint by default, ms. */
export const DEFAULT_ETCD_TIMEOUT_MS = 1000;

/** gRPC status codes etcd answers with, as far as callers test them. */
export const GrpcCode = {
  /** A bad request (e.g. a key that is not base64). */
  INVALID_ARGUMENT: 3,
  /** E.g. `etcdserver: requested lease not found`. */
  NOT_FOUND: 5,
  /** The server cannot serve now (no leader, shutting down). */
  UNAVAILABLE: 14,
} as const;

/** What went wrong talking to etcd: names the endpoint(s), the call and etcd's message. */
export class EtcdError extends Error {
  /** Always `"EtcdError"`. */
  override name = "EtcdError";
  /** The endpoint that answered, or every endpoint tried, comma-separated. */
  readonly endpoint: string;
  /** The call, e.g. `"lease/keepalive"`. */
  readonly call: string;
  /** etcd's gRPC status code, when etcd answered with one (see {@linkcode GrpcCode}). */
  readonly code: number | undefined;
  /** The HTTP status, when an endpoint answered. */
  readonly status: number | undefined;
  /** Whether no endpoint could be reached or answered in time. */
  readonly unreachable: boolean;

  /**
   * Makes an error of a call to etcd.
   *
   * @param message The whole message.
   * @param details Where and what.
   * @param options The cause, if any.
   */
  constructor(
    message: string,
    details: {
      endpoint: string;
      call: string;
      code?: number;
      status?: number;
      unreachable?: boolean;
    },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.endpoint = details.endpoint;
    this.call = details.call;
    this.code = details.code;
    this.status = details.status;
    this.unreachable = details.unreachable ?? false;
  }
}

/** How an {@linkcode EtcdClient} talks to etcd. */
export interface EtcdClientOptions {
  /** How long one call waits for one endpoint, ms (default {@linkcode DEFAULT_ETCD_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** One key as etcd keeps it. */
export interface KeyValue {
  /** The key. */
  key: string;
  /** The value. */
  value: string;
  /** The revision that created the key (unique, increasing across creations). */
  createRevision: number;
  /** The revision of its last change. */
  modRevision: number;
  /** How many times it was written since created. */
  version: number;
  /** The lease it is attached to, or `"0"`. */
  lease: string;
}

/** Which keys a range or delete covers. */
export interface KeyRange {
  /** Every key that starts with the given key (else only that key). */
  prefix?: boolean;
}

/** What {@linkcode EtcdClient.range} asks for. */
export interface RangeOptions extends KeyRange {
  /** At most this many keys (0: no limit). */
  limit?: number;
  /** Order by creation revision, `"ASCEND"` or `"DESCEND"` (else by key). */
  sortByCreate?: "ASCEND" | "DESCEND";
  /** Only keys created at or before this revision. */
  maxCreateRevision?: number;
  /** Ends the wait early. */
  signal?: AbortSignal;
}

/** What a range answers. */
export interface RangeResult {
  /** The store's revision when it answered. */
  revision: number;
  /** The keys found. */
  kvs: KeyValue[];
  /** How many keys the range covers (more than `kvs.length` when limited). */
  count: number;
}

/** One condition of a transaction, on one key. */
export interface Compare {
  /** The key compared. */
  key: string;
  /** What is compared: creation revision (0 if absent), last change, version or value. */
  target: "CREATE" | "MOD" | "VERSION" | "VALUE";
  /** The comparison (default `"EQUAL"`). */
  result?: "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
  /** The number, for `CREATE`, `MOD` and `VERSION`. */
  revision?: number;
  /** The text, for `VALUE`. */
  value?: string;
}

/** One operation of a transaction. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { range: { key: string } & KeyRange }
  | { deleteRange: { key: string } & KeyRange };

/** The answer to one {@linkcode TxnOp}, in the same order. */
export type TxnOpResult =
  | { put: { revision: number } }
  | { range: RangeResult }
  | { deleteRange: { revision: number; deleted: number } };

/** What a transaction answers. */
export interface TxnResult {
  /** Whether every comparison held (then `success` ran, else `failure`). */
  succeeded: boolean;
  /** The store's revision after it. */
  revision: number;
  /** The answers of the operations that ran. */
  responses: TxnOpResult[];
}

/** A lease etcd granted. */
export interface Lease {
  /** Its id (a 64-bit number, as a decimal string). */
  id: string;
  /** The TTL etcd granted, s (etcd may raise a small one to its minimum). */
  ttlS: number;
}

/** One change a watch saw. */
export interface WatchEvent {
  /** A put or a delete (an expired lease deletes its keys). */
  type: "PUT" | "DELETE";
  /** The key after the change (a deleted key has only `key` and `modRevision`). */
  kv: KeyValue;
}

/** What {@linkcode EtcdClient.watch} watches. */
export interface WatchOptions extends KeyRange {
  /** Report changes from this revision on (default: from now). */
  startRevision?: number;
  /** Stops the watch: the iteration ends with the signal's reason. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 text as base64. */
function toBase64(text: string): string {
  return bytesToBase64(encoder.encode(text));
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** base64 as UTF-8 text ("" for absent). */
function fromBase64(base64: unknown): string {
  if (typeof base64 !== "string" || base64 === "") return "";
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decoder.decode(bytes);
}

/**
 * The `range_end` that makes a range cover every key with `prefix`: the
 * prefix with its last byte that is not 0xff incremented ("\0" for all keys).
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return bytesToBase64(end);
    }
  }
  return bytesToBase64(new Uint8Array([0]));
}

/** The gateway's JSON for a key or a prefix. */
function rangeJson(key: string, range: KeyRange): Record<string, string> {
  return range.prefix
    ? { key: toBase64(key), range_end: prefixRangeEnd(key) }
    : { key: toBase64(key) };
}

/** An int64 the gateway wrote (a decimal string, absent for 0) as a number. */
function int(value: unknown): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new TypeError(`Not a safe integer from etcd: ${value}`);
  return n;
}

type Json = Record<string, unknown>;

function keyValue(json: Json): KeyValue {
  return {
    key: fromBase64(json.key),
    value: fromBase64(json.value),
    createRevision: int(json.create_revision),
    modRevision: int(json.mod_revision),
    version: int(json.version),
    lease: typeof json.lease === "string" ? json.lease : "0",
  };
}

function revisionOf(json: Json): number {
  return int((json.header as Json | undefined)?.revision);
}

function rangeResult(json: Json): RangeResult {
  const kvs = (json.kvs as Json[] | undefined) ?? [];
  return { revision: revisionOf(json), kvs: kvs.map(keyValue), count: int(json.count) };
}

/** The message of an error, for a list of failures. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Splits `--etcd URL[,URL...]` into endpoints, without trailing slashes.
 *
 * @param list Comma-separated URLs, e.g. `"http://127.0.0.1:2379,http://10.0.0.2:2379"`.
 * @returns The URLs.
 * @throws {TypeError} When the list is empty or one is not an http(s) URL.
 * @example
 * ```ts
 * import { parseEtcdEndpoints } from "./etcd.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseEtcdEndpoints("http://a:2379/, http://b:2379"), [
 *   "http://a:2379",
 *   "http://b:2379",
 * ]);
 * ```
 */
export function parseEtcdEndpoints(list: string | readonly string[]): string[] {
  const items = (typeof list === "string" ? list.split(",") : [...list])
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0) throw new TypeError("No etcd endpoint given: expected URL[,URL...]");
  return items.map((item) => {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new TypeError(`Not an etcd endpoint URL: "${item}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`Not an http(s) etcd endpoint: "${item}"`);
    }
    return item.replace(/\/+$/, "");
  });
}

/**
 * A client of etcd's v3 JSON gateway, over one or more endpoints. It holds no
 * connection of its own (each call is one `fetch`), so it needs no closing;
 * a {@linkcode EtcdClient.watch} ends with its signal.
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 *
 * const etcd = new EtcdClient(["http://127.0.0.1:2379"], { timeoutMs: 500 });
 * const { succeeded } = await etcd.txn(
 *   [{ key: "lock", target: "CREATE", revision: 0 }],
 *   [{ put: { key: "lock", value: "me" } }],
 * );
 * ```
 */
export class EtcdClient {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  #preferred = 0;

  /**
   * Makes a client; it connects only when called.
   *
   * @param endpoints The endpoints, as a list or `--etcd`'s comma-separated text.
   * @param options The timeout of one call at one endpoint.
   */
  constructor(endpoints: string | readonly string[], options: EtcdClientOptions = {}) {
    this.#endpoints = parseEtcdEndpoints(endpoints);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(`An etcd timeout must be positive: ${options.timeoutMs}`);
    }
  }

  /** The endpoints, in the order given. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** How long one call waits for one endpoint, ms. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * `POST /v3/kv/put`: sets a key, attached to a lease if given.
   *
   * @param key The key.
   * @param value The value.
   * @param options The lease (its id) and a signal.
   * @returns The store's revision after the put.
   */
  async put(
    key: string,
    value: string,
    options: { lease?: string; signal?: AbortSignal } = {},
  ): Promise<{ revision: number }> {
    const body: Json = { key: toBase64(key), value: toBase64(value) };
    if (options.lease !== undefined) body.lease = options.lease;
    const json = await this.#call("kv/put", body, options.signal);
    return { revision: revisionOf(json) };
  }

  /**
   * `POST /v3/kv/range`: reads a key, or every key with a prefix.
   *
   * @param key The key or prefix.
   * @param options Prefix, limit, order, a creation bound and a signal.
   * @returns The keys found and the store's revision.
   */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body: Json = rangeJson(key, options);
    if (options.limit !== undefined) body.limit = String(options.limit);
    if (options.sortByCreate !== undefined) {
      body.sort_target = "CREATE";
      body.sort_order = options.sortByCreate;
    }
    if (options.maxCreateRevision !== undefined) {
      body.max_create_revision = String(options.maxCreateRevision);
    }
    return rangeResult(await this.#call("kv/range", body, options.signal));
  }

  /**
   * `POST /v3/kv/deleterange`: deletes a key, or every key with a prefix.
   *
   * @param key The key or prefix.
   * @param options Prefix and a signal.
   * @returns How many keys went, and the store's revision.
   */
  async deleteRange(
    key: string,
    options: KeyRange & { signal?: AbortSignal } = {},
  ): Promise<{ revision: number; deleted: number }> {
    const json = await this.#call("kv/deleterange", rangeJson(key, options), options.signal);
    return { revision: revisionOf(json), deleted: int(json.deleted) };
  }

  /**
   * `POST /v3/kv/txn`: if every comparison holds, runs `success`, else `failure`, atomically.
   *
   * @param compare The conditions.
   * @param success What runs if they all hold.
   * @param failure What runs otherwise.
   * @param options A signal.
   * @returns Which branch ran and its answers.
   */
  async txn(
    compare: readonly Compare[],
    success: readonly TxnOp[],
    failure: readonly TxnOp[] = [],
    options: { signal?: AbortSignal } = {},
  ): Promise<TxnResult> {
    const json = await this.#call("kv/txn", {
      compare: compare.map(compareJson),
      success: success.map(opJson),
      failure: failure.map(opJson),
    }, options.signal);
    const responses = ((json.responses as Json[] | undefined) ?? []).map(opResult);
    return { succeeded: json.succeeded === true, revision: revisionOf(json), responses };
  }

  /**
   * `POST /v3/lease/grant`: a new lease that expires `ttlS` after its last renewal.
   *
   * @param ttlS The TTL, s (etcd raises one below its minimum, about 1.5 s by default).
   * @param options A signal.
   * @returns The lease.
   */
  async leaseGrant(ttlS: number, options: { signal?: AbortSignal } = {}): Promise<Lease> {
    if (!Number.isInteger(ttlS) || ttlS < 1) {
      throw new RangeError(`A lease TTL must be a whole number of seconds >= 1: ${ttlS}`);
    }
    const json = await this.#call("lease/grant", { TTL: String(ttlS) }, options.signal);
    return { id: String(json.ID), ttlS: int(json.TTL) };
  }

  /**
   * `POST /v3/lease/keepalive` (one request of the stream): renews a lease.
   *
   * @param id The lease.
   * @param options A signal.
   * @returns The TTL the lease has again, s.
   * @throws {EtcdError} With `code` {@linkcode GrpcCode.NOT_FOUND} when the
   *   lease has expired or was revoked (the gateway answers TTL 0).
   */
  async leaseKeepAlive(id: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const json = await this.#call("lease/keepalive", { ID: id }, options.signal);
    const result = (json.result as Json | undefined) ?? {};
    const ttlS = int(result.TTL);
    if (ttlS <= 0) {
      throw new EtcdError(`etcd lease/keepalive: lease ${id} not found (expired or revoked)`, {
        endpoint: this.#endpoints[this.#preferred]!,
        call: "lease/keepalive",
        code: GrpcCode.NOT_FOUND,
      });
    }
    return ttlS;
  }

  /**
   * `POST /v3/lease/revoke`: ends a lease now, deleting its keys.
   *
   * @param id The lease.
   * @param options A signal.
   * @throws {EtcdError} With `code` {@linkcode GrpcCode.NOT_FOUND} when it is gone already.
   */
  async leaseRevoke(id: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#call("lease/revoke", { ID: id }, options.signal);
  }

  /**
   * `POST /v3/watch`: the changes of a key or prefix, one batch per revision,
   * until `options.signal` aborts (then the iteration throws its reason) or
   * the stream ends (then it throws an {@linkcode EtcdError}). Only the
   * connection falls back to the next endpoint; a broken watch is not resumed:
   * watch again from the revision after the last one seen.
   *
   * @param key The key or prefix.
   * @param options Prefix, the first revision and the signal that ends it.
   * @returns The batches of changes.
   */
  async *watch(key: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent[], never> {
    const create: Json = rangeJson(key, options);
    if (options.startRevision !== undefined) create.start_revision = String(options.startRevision);
    const { response, endpoint, controller, release } = await this.#open(
      "watch",
      { create_request: create },
      options.signal,
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    let created = false;
    try {
      while (true) {
        let newline = buffered.indexOf("\n");
        while (newline < 0) {
          const { value, done } = await reader.read();
          if (done) {
            throw new EtcdError(`etcd watch at ${endpoint}: the stream ended`, {
              endpoint,
              call: "watch",
              unreachable: true,
            });
          }
          buffered += value;
          newline = buffered.indexOf("\n");
        }
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line === "") continue;
        const json = JSON.parse(line) as Json;
        if (json.error !== undefined) throw etcdAnswerError("watch", endpoint, 200, json.error);
        const result = (json.result as Json | undefined) ?? {};
        if (!created) {
          if (result.created !== true) {
            throw new EtcdError(`etcd watch at ${endpoint}: not created: ${line}`, {
              endpoint,
              call: "watch",
            });
          }
          created = true;
          release();
        }
        if (result.canceled === true) {
          throw new EtcdError(
            `etcd watch at ${endpoint} was canceled: ${result.cancel_reason ?? "no reason"}` +
              (result.compact_revision ? ` (compacted at ${result.compact_revision})` : ""),
            { endpoint, call: "watch" },
          );
        }
        const events = (result.events as Json[] | undefined) ?? [];
        if (events.length === 0) continue;
        yield events.map((event) => ({
          type: event.type === "DELETE" ? "DELETE" : "PUT",
          kv: keyValue((event.kv as Json | undefined) ?? {}),
        }));
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof EtcdError) throw error;
      throw new EtcdError(`etcd watch at ${endpoint} failed: ${messageOf(error)}`, {
        endpoint,
        call: "watch",
        unreachable: true,
      }, { cause: error });
    } finally {
      release();
      controller.abort();
      await reader.cancel().catch(() => {});
    }
  }

  /** One unary call: its JSON answer, or an {@linkcode EtcdError}. */
  async #call(call: string, body: Json, signal?: AbortSignal): Promise<Json> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.#endpoints.length; attempt++) {
      signal?.throwIfAborted();
      const index = (this.#preferred + attempt) % this.#endpoints.length;
      const endpoint = this.#endpoints[index]!;
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      let status: number;
      let text: string;
      try {
        const response = await fetch(`${endpoint}/v3/${call}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        failures.push(
          `${endpoint}: ${
            timeout.aborted ? `no answer within ${this.#timeoutMs} ms` : messageOf(error)
          }`,
        );
        continue;
      }
      this.#preferred = index;
      let json: Json;
      try {
        json = JSON.parse(text) as Json;
      } catch {
        throw new EtcdError(
          `etcd ${call} at ${endpoint}: HTTP ${status}, not JSON: ${text.slice(0, 200)}`,
          { endpoint, call, status },
        );
      }
      if (status !== 200 || json.error !== undefined) {
        // Unary errors are {error, message, code}; stream errors {error: {grpc_code, message}}.
        throw etcdAnswerError(
          call,
          endpoint,
          status,
          typeof json.error === "object" ? json.error : json,
        );
      }
      return json;
    }
    throw new EtcdError(`Cannot reach etcd for ${call}: ${failures.join("; ")}`, {
      endpoint: this.#endpoints.join(","),
      call,
      unreachable: true,
    });
  }

  /** Opens a streamed call: the first endpoint that answers 200 in time. */
  async #open(call: string, body: Json, signal?: AbortSignal): Promise<{
    response: Response;
    endpoint: string;
    controller: AbortController;
    release: () => void;
  }> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.#endpoints.length; attempt++) {
      signal?.throwIfAborted();
      const index = (this.#preferred + attempt) % this.#endpoints.length;
      const endpoint = this.#endpoints[index]!;
      // Not AbortSignal.timeout: that would also end the stream later.
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const onAbort = () => controller.abort(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      const release = () => clearTimeout(timer);
      const cleanUp = () => {
        release();
        signal?.removeEventListener("abort", onAbort);
      };
      try {
        const response = await fetch(`${endpoint}/v3/${call}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        if (response.status !== 200 || response.body === null) {
          const text = await response.text();
          cleanUp();
          let error: unknown = text;
          try {
            const json = JSON.parse(text) as Json;
            error = typeof json.error === "object" ? json.error : json;
          } catch { /* not JSON: the text is the message */ }
          throw etcdAnswerError(call, endpoint, response.status, error);
        }
        this.#preferred = index;
        return {
          response,
          endpoint,
          controller,
          release: () => {
            cleanUp();
          },
        };
      } catch (error) {
        cleanUp();
        if (error instanceof EtcdError) throw error;
        if (signal?.aborted) throw signal.reason;
        failures.push(
          `${endpoint}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : messageOf(error)}`,
        );
      }
    }
    throw new EtcdError(`Cannot reach etcd for ${call}: ${failures.join("; ")}`, {
      endpoint: this.#endpoints.join(","),
      call,
      unreachable: true,
    });
  }
}

/** An error etcd answered with, as an {@linkcode EtcdError}. */
function etcdAnswerError(
  call: string,
  endpoint: string,
  status: number,
  error: unknown,
): EtcdError {
  let message: string;
  let code: number | undefined;
  if (typeof error === "object" && error !== null) {
    const e = error as Json;
    message = String(e.message ?? e.error ?? JSON.stringify(e));
    const grpc = e.code ?? e.grpc_code;
    code = typeof grpc === "number" ? grpc : undefined;
  } else {
    message = String(error).trim();
  }
  return new EtcdError(`etcd ${call} at ${endpoint} failed (HTTP ${status}): ${message}`, {
    endpoint,
    call,
    status,
    code,
  });
}

function compareJson(compare: Compare): Json {
  const json: Json = {
    key: toBase64(compare.key),
    target: compare.target,
    result: compare.result ?? "EQUAL",
  };
  if (compare.target === "CREATE") json.create_revision = String(compare.revision ?? 0);
  else if (compare.target === "MOD") json.mod_revision = String(compare.revision ?? 0);
  else if (compare.target === "VERSION") json.version = String(compare.revision ?? 0);
  else json.value = toBase64(compare.value ?? "");
  return json;
}

function opJson(op: TxnOp): Json {
  if ("put" in op) {
    const put: Json = { key: toBase64(op.put.key), value: toBase64(op.put.value) };
    if (op.put.lease !== undefined) put.lease = op.put.lease;
    return { request_put: put };
  }
  if ("range" in op) return { request_range: rangeJson(op.range.key, op.range) };
  return { request_delete_range: rangeJson(op.deleteRange.key, op.deleteRange) };
}

function opResult(json: Json): TxnOpResult {
  if (json.response_put !== undefined) {
    return { put: { revision: revisionOf(json.response_put as Json) } };
  }
  if (json.response_range !== undefined) {
    return { range: rangeResult(json.response_range as Json) };
  }
  const deleted = (json.response_delete_range as Json | undefined) ?? {};
  return { deleteRange: { revision: revisionOf(deleted), deleted: int(deleted.deleted) } };
}
