/**
 * The running configuration as YAML, checked as you type by the manager itself: a dry run
 * (`PUT /v1/config?dry-run=true`) goes through the same parsing, If-Match and validation as the real
 * change and answers with the plan, so what the editor calls valid is exactly what applies. Problems
 * are shown at their line; "Review" shows the plan; "Apply" sends the change with If-Match, and a
 * 412 (somebody changed the config meanwhile) is shown as a conflict.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { stringify } from "yaml";
import { bareEtag, call, errorText, type Answer, type ErrorBody } from "./api.js";
import { PlanView } from "./plan.js";
import type { ChangePlan } from "./types.js";
import { readYaml } from "./yaml-place.js";

interface Problem {
  line: number;
  pointer?: string;
  message: string;
}

type Check =
  | { state: "idle" }
  | { state: "checking" }
  | { state: "valid"; plan: ChangePlan }
  | { state: "invalid"; problems: Problem[] }
  | { state: "conflict"; message: string }
  | { state: "failed"; message: string };

const DEBOUNCE_MS = 400;
const YAML = "application/yaml";

export function toYaml(doc: unknown): string {
  return stringify(doc, { indent: 2, lineWidth: 0 });
}

/** The problems of an error answer to a change, placed on lines of `text`. */
function problemsOf(answer: Answer, text: string): Problem[] {
  const body = answer.body as ErrorBody | undefined;
  const place = readYaml(text);
  if (body?.problems?.length)
    return body.problems.map((p) => ({
      line: place.lineOf(p.pointer),
      pointer: p.pointer,
      message: p.message,
    }));
  if (typeof body?.line === "number") return [{ line: body.line, message: body.error }];
  return [{ line: 1, message: errorText(answer) }];
}

export function ConfigEditor(props: { etag: string | undefined; onChanged: () => void }) {
  const [loaded, setLoaded] = useState<{ text: string; etag: string } | undefined>(undefined);
  const [text, setText] = useState("");
  const [check, setCheck] = useState<Check>({ state: "idle" });
  const [review, setReview] = useState<ChangePlan | undefined>(undefined);
  const [result, setResult] = useState<{ ok: boolean; message: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const seq = useRef(0);
  const dirty = loaded !== undefined && text !== loaded.text;

  const load = async () => {
    const a = await call("GET", "/v1/config");
    if (!a.ok || a.etag === null) {
      setResult({ ok: false, message: `cannot read the configuration: ${errorText(a)}` });
      return;
    }
    const t = toYaml(a.body);
    setLoaded({ text: t, etag: a.etag });
    setText(t);
    setCheck({ state: "idle" });
    setReview(undefined);
  };

  useEffect(() => {
    void load();
  }, []);

  // The running config changed elsewhere: follow it unless there are edits to keep.
  const stale =
    loaded !== undefined && props.etag !== undefined && bareEtag(props.etag) !== bareEtag(loaded.etag);
  useEffect(() => {
    if (stale && !dirty && !busy) void load();
  }, [stale, dirty, busy]);

  /** Dry run of the text against the loaded ETag; the newest answer wins. */
  const dryRun = async (t: string): Promise<Check> => {
    const syntax = readYaml(t).errors;
    if (syntax.length) return { state: "invalid", problems: syntax };
    const a = await call<ChangePlan>("PUT", "/v1/config?dry-run=true", {
      body: t,
      contentType: YAML,
      ...(loaded ? { ifMatch: loaded.etag } : {}),
    });
    if (a.ok) return { state: "valid", plan: a.body };
    if (a.status === 412) return { state: "conflict", message: conflictText() };
    if (a.status === 400 || a.status === 409 || a.status === 422)
      return { state: "invalid", problems: problemsOf(a, t) };
    return { state: "failed", message: errorText(a) };
  };

  useEffect(() => {
    if (!dirty) {
      setCheck({ state: "idle" });
      return;
    }
    const mine = ++seq.current;
    setCheck({ state: "checking" });
    setReview(undefined);
    const timer = setTimeout(() => {
      void dryRun(text).then((c) => {
        if (seq.current === mine) setCheck(c);
      });
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, loaded?.etag]);

  const conflictText = () =>
    "Conflict: the running configuration changed since you loaded it (HTTP 412, If-Match). Your edits are kept here; load the running configuration to start again from it.";

  const onReview = async () => {
    setBusy(true);
    const c = await dryRun(text);
    setCheck(c);
    setReview(c.state === "valid" ? c.plan : undefined);
    setBusy(false);
  };

  const onApply = async () => {
    if (!loaded) return;
    setBusy(true);
    setResult(undefined);
    const a = await call("PUT", "/v1/config", { body: text, contentType: YAML, ifMatch: loaded.etag });
    setBusy(false);
    if (a.ok) {
      setResult({
        ok: true,
        message: `Applied; the configuration's ETag is now ${bareEtag(a.etag ?? "?")}.`,
      });
      setReview(undefined);
      props.onChanged();
      await load();
    } else if (a.status === 412) {
      setCheck({ state: "conflict", message: conflictText() });
      setReview(undefined);
    } else {
      setResult({ ok: false, message: `Not applied: ${errorText(a)}` });
      if (a.status === 422 || a.status === 400) setCheck({ state: "invalid", problems: problemsOf(a, text) });
    }
  };

  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const lines = text.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };

  const problems = check.state === "invalid" ? check.problems : [];
  const badLines = new Set(problems.map((p) => p.line));
  const lineCount = text.split("\n").length;
  const statusText =
    check.state === "idle"
      ? dirty
        ? ""
        : "No edits: this is the running configuration."
      : check.state === "checking"
        ? "Checking…"
        : check.state === "valid"
          ? check.plan.changed
            ? `Valid: ${check.plan.changes.length} setting(s) change. Review the plan before applying.`
            : "Valid; nothing would change."
          : check.state === "invalid"
            ? `${problems.length} problem${problems.length === 1 ? "" : "s"}: nothing can be applied.`
            : check.message;

  return (
    <section aria-labelledby="config-title" class="panel">
      <h2 id="config-title">Configuration</h2>
      {stale && dirty && (
        <p class="banner warn" role="status">
          The running configuration changed while you were editing (now {props.etag}).
        </p>
      )}
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div key={i} data-line={i + 1} class={badLines.has(i + 1) ? "bad" : ""}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          ref={area}
          aria-label="Configuration (YAML)"
          aria-invalid={check.state === "invalid"}
          aria-describedby="config-check"
          spellcheck={false}
          wrap="off"
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.target as HTMLTextAreaElement).scrollTop;
          }}
        />
      </div>
      <p id="config-check" class={`check check-${check.state}`} role="status" aria-live="polite">
        {statusText}
      </p>
      {problems.length > 0 && (
        <ul class="problems" aria-label="Problems">
          {problems.map((p, i) => (
            <li key={i} data-line={p.line}>
              <button type="button" class="link" onClick={() => goTo(p.line)}>
                line {p.line}
              </button>
              {p.pointer !== undefined && <code>{p.pointer || "/"}</code>}: {p.message}
            </li>
          ))}
        </ul>
      )}
      <div class="buttons">
        <button
          type="button"
          onClick={() => void onReview()}
          disabled={!dirty || busy || check.state === "invalid"}
        >
          Review changes
        </button>
        <button
          type="button"
          class="primary"
          onClick={() => void onApply()}
          disabled={!review || !review.changed || busy || check.state !== "valid"}
        >
          Apply
        </button>
        <button type="button" onClick={() => void load()} disabled={busy}>
          {dirty ? "Discard edits" : "Load the running configuration"}
        </button>
      </div>
      {busy && <p role="status">Working…</p>}
      {result && (
        <p class={result.ok ? "ok" : "error"} role="status">
          {result.message}
        </p>
      )}
      {review && <PlanView plan={review} title="Plan (dry run)" />}
    </section>
  );
}
