/**
 * History (GET /v1/history): the configurations that ran, newest first; the diff between any two
 * (or one and the running config); restore one after reviewing its dry-run plan.
 */
import { useEffect, useState } from "preact/hooks";
import { unifiedDiff } from "../lib/utils/unified-diff.js";
import { bareEtag as bare, call, errorText } from "./api.js";
import { toYaml } from "./config-editor.js";
import { when } from "./overview.js";
import { Diff, PlanView } from "./plan.js";
import type { ChangePlan, HistoryEntry } from "./types.js";

const RUNNING = "running";

async function configOf(etag: string): Promise<unknown> {
  if (etag === RUNNING) {
    const a = await call("GET", "/v1/config");
    if (!a.ok) throw new Error(errorText(a));
    return a.body;
  }
  const a = await call<{ config: unknown }>("GET", `/v1/history/${encodeURIComponent(bare(etag))}`);
  if (!a.ok) throw new Error(errorText(a));
  return a.body.config;
}

export function History(props: { etag: string | undefined; onChanged: () => void }) {
  const [entries, setEntries] = useState<HistoryEntry[] | undefined>(undefined);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [a, setA] = useState<string | undefined>(undefined);
  const [b, setB] = useState<string>(RUNNING);
  const [diff, setDiff] = useState<string | undefined>(undefined);
  const [restore, setRestore] = useState<{ entry: HistoryEntry; plan: ChangePlan } | undefined>(undefined);
  const [result, setResult] = useState<{ ok: boolean; message: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const load = async (before?: string) => {
    const q = new URLSearchParams({ limit: "50", ...(before ? { before } : {}) });
    const r = await call<{ entries: HistoryEntry[]; next: string | null }>("GET", `/v1/history?${q}`);
    if (!r.ok) {
      setError(r.status === 404 ? "This manager keeps no history." : errorText(r));
      return;
    }
    setError(undefined);
    setEntries((old) => (before && old ? [...old, ...r.body.entries] : r.body.entries));
    setNext(r.body.next);
  };

  // Once the status is known, and again whenever the running config changes (a new entry).
  useEffect(() => {
    if (props.etag !== undefined) void load();
  }, [props.etag]);

  const showDiff = async () => {
    if (a === undefined) return;
    setBusy(true);
    try {
      const [x, y] = await Promise.all([configOf(a), configOf(b)]);
      setDiff(
        unifiedDiff(
          toYaml(x),
          toYaml(y),
          a === RUNNING ? "running" : bare(a),
          b === RUNNING ? "running" : bare(b),
        ),
      );
    } catch (e) {
      setDiff(undefined);
      setResult({ ok: false, message: `Cannot compare: ${(e as Error).message}` });
    }
    setBusy(false);
  };

  const path = (e: HistoryEntry) => `/v1/history/${encodeURIComponent(bare(e.etag))}/restore`;

  const review = async (e: HistoryEntry) => {
    setBusy(true);
    setResult(undefined);
    const r = await call<ChangePlan>(
      "POST",
      `${path(e)}?dry-run=true`,
      props.etag ? { ifMatch: props.etag } : {},
    );
    setBusy(false);
    if (r.ok) setRestore({ entry: e, plan: r.body });
    else
      setResult({
        ok: false,
        message:
          r.status === 412 ? "Conflict: the configuration changed meanwhile; try again." : errorText(r),
      });
  };

  const apply = async () => {
    if (!restore) return;
    setBusy(true);
    const r = await call<{ etag: string; "restored-from": string }>("POST", path(restore.entry), {
      ifMatch: restore.plan.etag,
    });
    setBusy(false);
    setRestore(undefined);
    if (r.ok)
      setResult({ ok: true, message: `Restored entry ${r.body["restored-from"]}; ETag now ${r.body.etag}.` });
    else
      setResult({
        ok: false,
        message:
          r.status === 412
            ? "Conflict: the configuration changed since the review (HTTP 412); nothing restored."
            : `Not restored: ${errorText(r)}`,
      });
    props.onChanged();
  };

  return (
    <section aria-labelledby="history-title" class="panel">
      <h2 id="history-title">History</h2>
      {error && <p class="muted">{error}</p>}
      {entries && (
        <>
          <div class="table-wrap">
            <table class="history" aria-label="Configuration history">
              <thead>
                <tr>
                  <th scope="col">Entry</th>
                  <th scope="col">Time</th>
                  <th scope="col">Change</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Compare</th>
                  <th scope="col">Restore</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-entry={e.id}>
                    <th scope="row">
                      {e.id} <code title={e.etag}>{bare(e.etag).slice(0, 10)}</code>
                    </th>
                    <td>{when(e.time)}</td>
                    <td>
                      {e.kind}: {e.source}
                      {e.message ? ` (${e.message})` : ""}
                    </td>
                    <td>{e.outcome}</td>
                    <td class="nowrap">
                      <label>
                        <input
                          type="radio"
                          name="diff-a"
                          checked={a === e.etag}
                          onChange={() => setA(e.etag)}
                        />{" "}
                        A<span class="sr-only"> entry {e.id}</span>
                      </label>{" "}
                      <label>
                        <input
                          type="radio"
                          name="diff-b"
                          checked={b === e.etag}
                          onChange={() => setB(e.etag)}
                        />{" "}
                        B<span class="sr-only"> entry {e.id}</span>
                      </label>
                    </td>
                    <td>
                      <button
                        type="button"
                        disabled={busy || bare(e.etag) === bare(props.etag ?? "")}
                        onClick={() => void review(e)}
                      >
                        Review restore<span class="sr-only"> of entry {e.id}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="buttons">
            <label>
              <input type="radio" name="diff-b" checked={b === RUNNING} onChange={() => setB(RUNNING)} /> B is
              the running configuration
            </label>
            <button type="button" disabled={a === undefined || busy} onClick={() => void showDiff()}>
              Compare A with B
            </button>
            {next && (
              <button type="button" onClick={() => void load(next)}>
                Older entries
              </button>
            )}
          </div>
        </>
      )}
      {diff !== undefined && <Diff text={diff} label="Difference between A and B" />}
      {restore && (
        <>
          <PlanView plan={restore.plan} title={`Restoring entry ${restore.entry.id} (dry run)`} />
          <div class="buttons">
            <button
              type="button"
              class="primary"
              disabled={busy || !restore.plan.changed}
              onClick={() => void apply()}
            >
              Restore entry {restore.entry.id}
            </button>
            <button type="button" onClick={() => setRestore(undefined)}>
              Cancel restore
            </button>
          </div>
        </>
      )}
      {result && (
        <p class={result.ok ? "ok" : "error"} role="status">
          {result.message}
        </p>
      )}
    </section>
  );
}
