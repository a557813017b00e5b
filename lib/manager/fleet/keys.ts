/**
 * Where a fleet keeps its things in etcd, all under /knot-resolver/<fleet>/:
 *
 *   config              the fleet document (YAML text); its mod revision is the fleet's version
 *   rollout             the elected manager's rollout: which revision which nodes may apply now
 *   nodes/<node>        each node's state (applied revision, ETag, health, last error), on a lease
 *   history/<revision>  every revision put, its text and what became of it
 *   election/…          etcd's election keys (etcd3 Election) choosing the manager that rolls out
 */
export interface FleetKeys {
  prefix: string;
  config: string;
  rollout: string;
  nodes: string;
  node(name: string): string;
  history: string;
  historyOf(revision: number): string;
  election: string;
}

/** Revisions as fixed-width decimal in history keys, so etcd's key order is revision order. */
const REVISION_DIGITS = 16;

export function fleetKeys(fleet: string): FleetKeys {
  const prefix = `/knot-resolver/${fleet}/`;
  return {
    prefix,
    config: `${prefix}config`,
    rollout: `${prefix}rollout`,
    nodes: `${prefix}nodes/`,
    node: (name) => `${prefix}nodes/${name}`,
    history: `${prefix}history/`,
    historyOf: (revision) => `${prefix}history/${String(revision).padStart(REVISION_DIGITS, "0")}`,
    election: `${prefix}election`,
  };
}
