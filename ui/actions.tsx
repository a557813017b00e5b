/** Actions: clear the cache (all, a name, a name and type), reload the config files, force a renew. */
import { useState } from "preact/hooks";
import { call, errorText } from "./api.js";
import type { CacheClearResult } from "./types.js";

export function Actions(props: { onChanged: () => void }) {
  const [name, setName] = useState("");
  const [exact, setExact] = useState(false);
  const [type, setType] = useState("");
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [result, setResult] = useState<{ ok: boolean; message: string } | undefined>(undefined);

  const run = async (what: string, f: () => Promise<{ ok: boolean; message: string }>) => {
    setBusy(what);
    setResult(undefined);
    try {
      setResult(await f());
    } finally {
      setBusy(undefined);
      props.onChanged();
    }
  };

  const clear = () =>
    run("cache", async () => {
      const body: Record<string, unknown> = {};
      if (name.trim() !== "") body.name = name.trim();
      if (exact) body["exact-name"] = true;
      if (type.trim() !== "") body["rr-type"] = type.trim().toUpperCase();
      const a = await call<CacheClearResult>("POST", "/cache/clear", { body: JSON.stringify(body) });
      if (!a.ok) return { ok: false, message: `Cache not cleared: ${errorText(a)}` };
      const what =
        body.name === undefined
          ? "the whole cache"
          : `${String(body.name)}${type ? ` ${type.toUpperCase()}` : ""}`;
      const more = a.body.chunk_limit ? " (more are being removed in the background)" : "";
      return {
        ok: true,
        message: `Cleared ${what}: ${a.body.count} record${a.body.count === 1 ? "" : "s"} removed${more}.`,
      };
    });

  const post = (what: string, path: string, done: (b: Record<string, unknown>) => string) =>
    run(what, async () => {
      const a = await call<Record<string, unknown>>("POST", path);
      return a.ok ? { ok: true, message: done(a.body) } : { ok: false, message: `${path}: ${errorText(a)}` };
    });

  return (
    <section aria-labelledby="actions-title" class="panel">
      <h2 id="actions-title">Actions</h2>
      <form
        class="cache-clear"
        aria-label="Clear the cache"
        onSubmit={(e) => {
          e.preventDefault();
          void clear();
        }}
      >
        <label>
          Name{" "}
          <input
            type="text"
            value={name}
            placeholder="empty: the whole cache"
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="inline">
          <input
            type="checkbox"
            checked={exact}
            onChange={(e) => setExact((e.target as HTMLInputElement).checked)}
          />{" "}
          Exact name only
        </label>
        <label>
          Record type{" "}
          <input
            type="text"
            value={type}
            size={8}
            placeholder="any"
            onInput={(e) => setType((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={busy !== undefined}>
          Clear cache
        </button>
      </form>
      <div class="buttons">
        <button
          type="button"
          disabled={busy !== undefined}
          onClick={() =>
            void post("reload", "/reload", (b) =>
              b.changed
                ? "Reloaded: the config files' changes applied."
                : "Reloaded: the config files hold the running configuration; nothing to do.",
            )
          }
        >
          Reload config files
        </button>
        <button
          type="button"
          disabled={busy !== undefined}
          onClick={() => void post("renew", "/renew/force", () => "Renewed: every worker restarted.")}
        >
          Restart all workers (force renew)
        </button>
      </div>
      {busy && <p role="status">Working…</p>}
      {result && (
        <p class={result.ok ? "ok" : "error"} role="status" data-testid="action-result">
          {result.message}
        </p>
      )}
    </section>
  );
}
