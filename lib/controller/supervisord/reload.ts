import type { SupervisordRpc } from "./rpc.js";

/**
 * Makes a running supervisord take its rewritten config file: new program groups are added,
 * removed ones stopped and dropped, changed ones replaced (their processes restart). The
 * manager's own group is never replaced from inside: it takes effect when the manager restarts.
 */
export async function applySupervisordConf(rpc: SupervisordRpc): Promise<string[]> {
  const [[added, changed, removed]] = (await rpc.reloadConfig()) as [[string[], string[], string[]]];
  const log: string[] = [];
  for (const group of [...removed, ...changed.filter((g) => g !== "manager")]) {
    // Waits for every process of the group to stop (kresd: up to stopwaitsecs, then SIGKILL).
    await rpc.callWithin(70_000, "supervisor.stopProcessGroup", group, true);
    await rpc.removeProcessGroup(group);
    log.push(`removed ${group}`);
  }
  for (const group of [...added, ...changed.filter((g) => g !== "manager")]) {
    await rpc.addProcessGroup(group);
    log.push(`added ${group}`);
  }
  return log;
}
