/** A dry run's plan, readable: what changes (pointers), which processes restart, the diffs. */
import type { ChangePlan } from "./types.js";

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "–" : s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** A unified diff with its added and removed lines marked. */
export function Diff(props: { text: string; label: string }) {
  if (props.text === "") return <p class="muted">No differences.</p>;
  return (
    <pre class="diff" aria-label={props.label} tabIndex={0}>
      {props.text.split("\n").map((line, i) => (
        <span
          key={i}
          class={
            line.startsWith("+++") || line.startsWith("---")
              ? "d-file"
              : line.startsWith("@@")
                ? "d-hunk"
                : line.startsWith("+")
                  ? "d-add"
                  : line.startsWith("-")
                    ? "d-del"
                    : ""
          }
        >
          {line}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}

export function PlanView(props: { plan: ChangePlan; title: string }) {
  const { plan } = props;
  const p = plan.processes;
  const moves: [string, string[]][] = [
    ["restart", p.restart],
    ["start", p.start],
    ["stop", p.stop],
  ];
  return (
    <section class="plan" aria-label={props.title}>
      <h3>{props.title}</h3>
      {!plan.changed ? (
        <p>Nothing would change: this is the running configuration.</p>
      ) : (
        <>
          <ul class="changes" aria-label="Changed settings">
            {plan.changes.map((c) => (
              <li key={`${c.op}${c.pointer}`}>
                <code>{c.pointer || "/"}</code>{" "}
                {c.op === "add"
                  ? `added: ${short(c.new)}`
                  : c.op === "remove"
                    ? `removed (was ${short(c.old)})`
                    : `${short(c.old)} → ${short(c.new)}`}
              </li>
            ))}
          </ul>
          <ul class="moves" aria-label="Processes">
            {moves
              .filter(([, names]) => names.length > 0)
              .map(([what, names]) => (
                <li key={what} data-move={what}>
                  <strong>{what}:</strong> {names.join(", ")}
                </li>
              ))}
            {moves.every(([, names]) => names.length === 0) && <li>No process restarts.</li>}
            {p.unchanged.length > 0 && (
              <li data-move="unchanged">
                <strong>left running:</strong> {p.unchanged.join(", ")}
              </li>
            )}
          </ul>
          {plan.canary && (
            <p class={plan.canary.ok ? "ok" : "error"}>
              Canary: {plan.canary.ok ? "accepted" : "refused"} {plan.canary.message}
            </p>
          )}
          <details open>
            <summary>Configuration diff</summary>
            <Diff text={plan["yaml-diff"]} label="Configuration diff" />
          </details>
          {plan["lua-changed"] && (
            <details>
              <summary>Worker Lua diff</summary>
              <Diff text={plan["lua-diff"]} label="Worker Lua diff" />
            </details>
          )}
        </>
      )}
    </section>
  );
}
