/**
 * The Knot Resolver dashboard: one page (overview, live traffic, actions, configuration, history)
 * and the schema page (#schema). Status and processes come from GET / and GET /processes, then
 * from the live stream (GET /v1/stream), which also brings the traffic samples.
 */
import "uplot/dist/uPlot.min.css";
import "./app.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Actions } from "./actions.js";
import { call, onUnauthorized, openStream, setToken, takeTokenFromUrl } from "./api.js";
import { ConfigEditor } from "./config-editor.js";
import { History } from "./history.js";
import { Overview } from "./overview.js";
import { SchemaPage } from "./schema.js";
import { Traffic } from "./traffic.js";
import type { LiveSample, LiveState, ProcessRow, Status } from "./types.js";

const KEEP_SAMPLES = 300;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const f = () => setHash(location.hash);
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return hash;
}

function TokenForm(props: { onDone: () => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="panel token"
      aria-label="API token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        props.onDone();
      }}
    >
      <p>
        This API needs its token (the file <code>management/token-file</code> names), or open the URL{" "}
        <code>kresctl ui</code> prints.
      </p>
      <label>
        API token{" "}
        <input
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

function App() {
  const hash = useHash();
  const [status, setStatus] = useState<Status | undefined>(undefined);
  const [processes, setProcesses] = useState<ProcessRow[]>([]);
  const [samples, setSamples] = useState<LiveSample[]>([]);
  const [connected, setConnected] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [needToken, setNeedToken] = useState(false);
  const [generation, setGeneration] = useState(0);

  const refresh = async () => {
    const [s, p] = await Promise.all([call<Status>("GET", "/"), call<ProcessRow[]>("GET", "/processes")]);
    if (s.ok) setStatus(s.body);
    if (p.ok) setProcesses(p.body);
  };

  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);

  useEffect(() => {
    void refresh();
    const close = openStream((event, data) => {
      if (event === "backlog") setSamples((data as { samples: LiveSample[] }).samples);
      else if (event === "sample") {
        setSamples((old) => [...old.slice(-(KEEP_SAMPLES - 1)), data as LiveSample]);
        setNow(Date.now());
      } else if (event === "state") {
        const st = data as LiveState;
        setStatus(st.status as Status);
        setProcesses(st.processes as ProcessRow[]);
      }
    }, setConnected);
    return close;
  }, [generation]);

  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const schema = hash.startsWith("#schema");
  return (
    <>
      <header class="top">
        <h1>
          <a href="#">Knot Resolver</a>
        </h1>
        <nav aria-label="Sections">
          <a href="#overview-title">Overview</a>
          <a href="#traffic-title">Traffic</a>
          <a href="#config-title">Configuration</a>
          <a href="#history-title">History</a>
          <a href="#schema" aria-current={schema ? "page" : undefined}>
            Schema
          </a>
        </nav>
        <span class="etag" title="ETag of the running configuration">
          {status ? `config ${status.etag.slice(0, 12)}…` : ""}
        </span>
      </header>
      <main>
        {needToken && (
          <TokenForm
            onDone={() => {
              setNeedToken(false);
              setGeneration((g) => g + 1);
            }}
          />
        )}
        {schema ? (
          <SchemaPage key={generation} />
        ) : (
          // A new token (generation) remounts the panels: each asks the API again.
          <div class="grid" key={generation}>
            <div class="col">
              <Overview status={status} processes={processes} now={now} />
              <Actions onChanged={() => void refresh()} />
            </div>
            <div class="col">
              <Traffic samples={samples} connected={connected} />
            </div>
            <div class="wide">
              <ConfigEditor etag={status?.etag} onChanged={() => void refresh()} />
            </div>
            <div class="wide">
              <History etag={status?.etag} onChanged={() => void refresh()} />
            </div>
          </div>
        )}
      </main>
    </>
  );
}

takeTokenFromUrl();
render(<App />, document.getElementById("app") as HTMLElement);
