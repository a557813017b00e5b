/**
 * What the web dashboard costs:
 *   - the first page load in headless chromium through `kresctl ui`: bytes on the wire
 *     (compressed, headers included, as chromium counts them), the dashboard's files and the API's
 *     answers apart (the live stream, which never ends, left out); floor FIRST_LOAD_KB;
 *   - the manager's CPU (utime + stime of /proc/<manager>/stat) over CPU_WINDOW_S at rest: with no
 *     dashboard open, then with DASHBOARDS live streams open (GET /v1/stream on the API's socket, as
 *     a dashboard at rest holds: one shared sampler each second, its samples sent to every one);
 *     floor CPU_FLOOR_PCT of one core.
 * Not a test. Run: npm run build && node dist/bench/dashboard.js
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { HeadlessBrowser, UiProxyProcess } from "../harness/browser.js";
import { sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKERS = 2;
const FIRST_LOAD_KB = 150;
const DASHBOARDS = 10;
const CPU_WINDOW_S = 30;
const CPU_FLOOR_PCT = 5;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

const progress = progressOf("dashboard");

interface Load {
  files: { url: string; bytes: number }[];
  api: { url: string; bytes: number }[];
}

/** Chromium's own count of the bytes each finished request took on the wire (CDP encodedDataLength). */
async function firstLoad(r: BenchResolver): Promise<Load> {
  const ui = await UiProxyProcess.start(r.apiSocket);
  const browser = await HeadlessBrowser.launch();
  try {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    const urls = new Map<string, string>();
    const out: Load = { files: [], api: [] };
    cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
    cdp.on("Network.loadingFinished", (e) => {
      const url = new URL(urls.get(e.requestId) ?? "about:blank");
      const entry = { url: url.pathname + url.search, bytes: e.encodedDataLength };
      (url.pathname.startsWith("/ui/") ? out.files : out.api).push(entry);
    });
    await page.goto(ui.url, { waitUntil: "load" });
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByRole("textbox", { name: "Configuration (YAML)" }).waitFor();
    await sleep(3000); // the page's first API answers
    return out;
  } finally {
    await browser.close();
    await ui.stop();
  }
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

async function cpuPercent(pid: number): Promise<number> {
  const t0 = cpuTicks(pid);
  const start = performance.now();
  await sleep(CPU_WINDOW_S * 1000);
  const seconds = (performance.now() - start) / 1000;
  return ((cpuTicks(pid) - t0) / TICKS / seconds) * 100;
}

/** A dashboard at rest, as the manager sees it: one open GET /v1/stream, read as it comes. */
function openStream(socket: string): { events: () => number; close: () => void } {
  let events = 0;
  const req = http.get(
    { socketPath: socket, path: "/v1/stream", headers: { Accept: "text/event-stream" } },
    (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (events += chunk.split("\n\n").length - 1));
    },
  );
  req.on("error", () => {});
  return { events: () => events, close: () => req.destroy() };
}

export async function run(): Promise<BenchOutcome> {
  let load: Load | undefined;
  let idle = NaN;
  let open = NaN;
  let events = 0;
  const result = await withResolver({ workers: WORKERS }, { progress }, async (r) => {
    progress("first page load in chromium");
    load = await firstLoad(r);
    const pid = await r.managerPid();
    await sleep(3000); // the sampler the page started has stopped
    progress(`manager CPU, ${CPU_WINDOW_S} s with no dashboard open`);
    idle = await cpuPercent(pid);
    const streams = Array.from({ length: DASHBOARDS }, () => openStream(r.apiSocket));
    await sleep(2000);
    progress(`manager CPU, ${CPU_WINDOW_S} s with ${DASHBOARDS} dashboards' streams open`);
    const before = streams.reduce((n, s) => n + s.events(), 0);
    open = await cpuPercent(pid);
    events = streams.reduce((n, s) => n + s.events(), 0) - before;
    for (const s of streams) s.close();
  });

  const kb = (b: number) => (b / 1024).toFixed(1);
  const files = load?.files.reduce((n, f) => n + f.bytes, 0) ?? NaN;
  const api = load?.api.reduce((n, f) => n + f.bytes, 0) ?? NaN;
  console.log("dashboard: first page load through kresctl ui (bytes on the wire, gzip where accepted)");
  printTable([
    ["request", "KB"],
    ...(load ? [...load.files, ...load.api] : []).map((f) => [f.url, kb(f.bytes)]),
    ["dashboard files", kb(files)],
    ["API answers", kb(api)],
    ["total", `${kb(files + api)} (floor ${FIRST_LOAD_KB})`],
  ]);
  console.log("");
  console.log(`dashboard: manager CPU at rest over ${CPU_WINDOW_S} s, % of one core`);
  printTable([
    ["dashboards open", "manager CPU %", "events received"],
    ["0", fmtMs(idle, 2), "-"],
    [String(DASHBOARDS), fmtMs(open, 2), String(events)],
    ["added by the dashboards", `${fmtMs(open - idle, 2)} (floor ${CPU_FLOOR_PCT})`, ""],
  ]);
  if (result.error) console.log(`dashboard: the run failed: ${result.error}`);
  return {
    ok: !result.error && load !== undefined,
    headlines: [
      { figure: `dashboard: first page load, KB (floor ${FIRST_LOAD_KB})`, value: kb(files + api) },
      {
        figure: `dashboard: manager CPU with ${DASHBOARDS} open at rest, % of a core (floor ${CPU_FLOOR_PCT})`,
        value: fmtMs(open, 2),
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
