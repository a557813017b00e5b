/** Overview: every process with its PID, state, uptime and restarts; the last change and rollback. */
import type { ProcessRow, Status } from "./types.js";

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function Overview(props: { status: Status | undefined; processes: ProcessRow[]; now: number }) {
  const { status, processes, now } = props;
  const rows = processes.filter((p) => p.type !== "manager");
  const manager = processes.find((p) => p.type === "manager");
  return (
    <section aria-labelledby="overview-title" class="panel">
      <h2 id="overview-title">Overview</h2>
      {status?.["unpersisted-changes"] && (
        <p class="banner warn" role="status">
          The running configuration differs from the config files (changes made through the API without
          persisting): a reload would drop them.
        </p>
      )}
      {status?.["last-rollback"] && (
        <p class="banner error" role="status">
          Last rollback {when(status["last-rollback"].at)}: {status["last-rollback"].reason}
        </p>
      )}
      <div class="table-wrap">
        <table class="processes" aria-label="Processes">
          <thead>
            <tr>
              <th scope="col">Process</th>
              <th scope="col">PID</th>
              <th scope="col">State</th>
              <th scope="col">Uptime</th>
              <th scope="col">Restarts</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.id} data-process={p.id}>
                <th scope="row">{p.id}</th>
                <td class="pid">{p.pid}</td>
                <td>
                  <span class={`state state-${p.status}`}>{p.status}</span>
                </td>
                <td>{p.started ? duration(now - Date.parse(p.started)) : "–"}</td>
                <td>{p.restarts ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <dl class="facts">
        <div>
          <dt>Workers configured</dt>
          <dd>{status?.workers ?? "…"}</dd>
        </div>
        <div>
          <dt>Manager</dt>
          <dd>
            {status ? `${status.version}, PID ${status.pid}` : "…"}
            {manager?.started ? `, up ${duration(now - Date.parse(manager.started))}` : ""}
          </dd>
        </div>
        <div>
          <dt>Configuration</dt>
          <dd>
            {status
              ? status["config-source"].from === "files"
                ? `from ${status["config-source"].files.join(", ")}`
                : `resumed (saved ${when(status["config-source"]["saved-at"])})`
              : "…"}
          </dd>
        </div>
        <div>
          <dt>Last change</dt>
          <dd>
            {status?.["last-change"]
              ? `${status["last-change"].source}: ${status["last-change"].outcome}, ${when(status["last-change"].at)}${status["last-change"].message ? ` (${status["last-change"].message})` : ""}`
              : "none since start"}
          </dd>
        </div>
      </dl>
    </section>
  );
}
