/**
 * The flags of HA mode, shared by every role's command line: `--etcd`,
 * `--group`, `--lease-ttl` and `--name`.
 *
 * @module
 */

import { type FlagSpec, type FlagValues, numberFlag, UsageError } from "./flags.ts";
import { parseEtcdEndpoints } from "../ha/etcd.ts";
import type { EtcdGroup } from "../ha/group_keys.ts";
import { isClientId } from "../protocol/ids.ts";

/** `--etcd`, `--group`, `--lease-ttl` and `--name`. */
export const HA_FLAGS: Record<string, FlagSpec> = {
  etcd: {
    type: "string",
    value: "URL[,URL...]",
    help:
      "HA mode: etcd's client URLs; one broker and one sequencer of the group are active (each holds an etcd lease), the others stand by",
  },
  group: {
    type: "string",
    value: "NAME",
    help: "HA mode: the group's name in etcd (required with --etcd)",
  },
  "lease-ttl": {
    type: "string",
    value: "S",
    default: "2",
    help: "HA mode: the leases' TTL in whole seconds; failover takes about this plus a heartbeat",
  },
  name: {
    type: "string",
    value: "NAME",
    help:
      "HA mode: this broker's or sequencer's name in the group (default: the host's name, then the broker's base port or a hash of the sequencer's log)",
  },
};

/** What {@link haFlagOptions} reads: the group in etcd, and this role's name. */
export type HaFlagOptions = EtcdGroup & { name?: string };

/**
 * Reads {@link HA_FLAGS}: undefined without `--etcd`.
 *
 * @throws {UsageError} naming the flag and what it takes.
 */
export function haFlagOptions(values: FlagValues): HaFlagOptions | undefined {
  const etcd = values.etcd;
  if (etcd === undefined) {
    for (const flag of ["group", "name"]) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --etcd (HA mode)`);
    }
    return undefined;
  }
  if (typeof etcd !== "string") throw new UsageError("--etcd takes URL[,URL...]");
  let endpoints: string[];
  try {
    endpoints = parseEtcdEndpoints(etcd);
  } catch (error) {
    throw new UsageError(`Invalid --etcd ${JSON.stringify(etcd)}: ${(error as Error).message}`);
  }
  const group = values.group;
  if (typeof group !== "string" || !isClientId(group)) {
    throw new UsageError(
      `--etcd needs --group NAME, 1 to 64 of A-Z a-z 0-9 _ . - (got ${JSON.stringify(group)})`,
    );
  }
  const name = values.name;
  if (name !== undefined && (typeof name !== "string" || !isClientId(name))) {
    throw new UsageError(
      `Invalid --name ${JSON.stringify(name)}: expected 1 to 64 of A-Z a-z 0-9 _ . -`,
    );
  }
  const leaseTtlS = numberFlag(values, "lease-ttl", 2, { min: 1, max: 3600, integer: true });
  return { etcd: endpoints, group, leaseTtlS, name };
}
