/**
 * The tests' etcd: the one `tasks/etcd.ts` starts for the HA demo.
 *
 * @module
 */

export {
  freePort,
  HAVE_ETCD,
  type LocalEtcd,
  startEtcd,
  stopEtcd,
  T,
  withEtcd,
} from "../tasks/etcd.ts";
