/**
 * `LeadershipEnded`: why a sequencer in HA mode stopped publishing.
 *
 * @module
 */

/**
 * Why a sequencer in HA mode stopped publishing: it no longer leads (its
 * lease, or a change of the in-sync set that etcd did not take). Not a
 * fault of its own: it may stand by and lead again.
 */
export class LeadershipEnded extends Error {
  /**
   * Makes the error.
   *
   * @param message Why it no longer leads.
   */
  constructor(message: string) {
    super(message);
    this.name = "LeadershipEnded";
  }
}
