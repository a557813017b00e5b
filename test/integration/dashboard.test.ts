/**
 * The web dashboard in a real headless chromium (playwright-core, Debian's /usr/bin/chromium)
 * against a real knot-resolver, opened the way an operator opens it: `kresctl ui` proxying to the
 * API's unix socket. Each step checks the page against the processes themselves (supervisord's
 * PIDs, kdig's answers, the cache). Screenshots at 1280 px and 390 px go to test-artifacts/.
 */
import { jest } from "@jest/globals";
import type { Page } from "playwright-core";
import { apiCall } from "../../harness/api.js";
import {
  HeadlessBrowser,
  KEEPS_HISTORY,
  NO_HISTORY_ANSWER,
  screenshot,
  UiProxyProcess,
  unnamedControls,
  watchPage,
  type PageTrouble,
} from "../../harness/browser.js";
import { kdigAt, startKnotd, waitFor, type Knotd } from "../../harness/index.js";
import { isRunning } from "../../harness/procs.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(240_000);

const ZONE = `$TTL 300
@        SOA ns hostmaster 1 3600 900 604800 300
@        NS  ns
ns       A   127.0.0.1
${Array.from({ length: 20 }, (_, i) => `h${i} A 192.0.2.${i + 1}`).join("\n")}
`;

let knotd: Knotd;
let r: Resolver;
let ui: UiProxyProcess;
let browser: HeadlessBrowser;
let page: Page;
let trouble: PageTrouble;
/** Error answers a step provokes on purpose ("STATUS METHOD PATH"), and only those. */
const expectedErrors = new Set<string>();

// Without a history (KEEPS_HISTORY), the history step is skipped and its route answers 404.
if (!KEEPS_HISTORY) expectedErrors.add(NO_HISTORY_ANSWER);

async function kresdPids(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, row] of await r.status())
    if (name.startsWith("kresd:") && row.state === "RUNNING" && row.pid) out.set(name, row.pid);
  return out;
}

/** The PIDs the overview's process table shows, by process ID ('kresd0', 'cache-gc'). */
async function shownPids(): Promise<Map<string, number>> {
  const rows = page.getByRole("table", { name: "Processes" }).locator("tbody tr");
  const out = new Map<string, number>();
  for (const row of await rows.all())
    out.set(
      (await row.getByRole("rowheader").innerText()).trim(),
      Number(await row.locator("td.pid").innerText()),
    );
  return out;
}

const editor = () => page.getByRole("textbox", { name: "Configuration (YAML)" });

beforeAll(async () => {
  knotd = await startKnotd({ zones: { "example.test": ZONE } });
  r = await startResolver({
    config: {
      workers: 2,
      forward: [
        { subtree: "example.test", servers: [`127.0.0.1@${knotd.port}`], options: { dnssec: false } },
      ],
    },
  });
  ui = await UiProxyProcess.start(r.apiSocket);
  browser = await HeadlessBrowser.launch();
  page = await browser.context.newPage();
  trouble = watchPage(page);
  await page.goto(ui.url);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await r?.stop();
  await knotd?.stop();
});

describe("the dashboard in a real browser", () => {
  it("lists the real worker PIDs, states and cache-gc; the token left the address bar", async () => {
    const real = await kresdPids();
    expect(real.size).toBe(2);
    const shown = await waitFor("the process table", async () => {
      const s = await shownPids();
      return s.has("kresd0") && s.has("kresd1") && s.has("cache-gc") ? s : undefined;
    });
    expect(shown.get("kresd0")).toBe(real.get("kresd:kresd0"));
    expect(shown.get("kresd1")).toBe(real.get("kresd:kresd1"));
    expect(shown.get("cache-gc")).toBe(await r.pidOf("cache-gc"));
    expect(page.url()).not.toContain("token=");
  });

  it("shows a non-zero query rate while kdig asks", async () => {
    const qps = page.getByTestId("qps-now");
    await expect(qps.innerText()).resolves.toMatch(/q\/s|–/);
    const deadline = Date.now() + 60_000;
    let text = "";
    for (let i = 0; Date.now() < deadline; i++) {
      await kdigAt(r.port, `h${i % 20}.example.test`, "A");
      text = await qps.innerText();
      const m = /now ([\d.]+) q\/s/.exec(text);
      if (m && Number(m[1]) > 0) break;
    }
    expect(Number(/now ([\d.]+) q\/s/.exec(text)?.[1])).toBeGreaterThan(0);
  });

  it("clears the cache of a name and reports the count kresd gave", async () => {
    for (let i = 0; i < 5; i++) await kdigAt(r.port, `h${i}.example.test`, "A");
    await page.getByRole("textbox", { name: "Name" }).fill("example.test");
    await page.getByRole("button", { name: "Clear cache" }).click();
    const result = page.getByTestId("action-result");
    await result.waitFor();
    const m = /^Cleared example\.test: (\d+) records? removed/.exec(await result.innerText());
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(5);
    // Gone from the cache: the next answer is fetched again, with knotd's full TTL.
    const again = await kdigAt(r.port, "h0.example.test", "A");
    expect(again.answers[0]?.ttl).toBe(300);
  });

  it("shows an invalid edit's problem at its line, offers no apply, and moves nothing", async () => {
    const before = await kresdPids();
    const etag = (await apiCall(r.apiSocket, "GET", "/")).json as { etag: string };
    const text = await editor().inputValue();
    const lines = text.split("\n");
    const line = lines.findIndex((l) => /^workers: 2$/.test(l)) + 1;
    expect(line).toBeGreaterThan(0);
    expectedErrors.add("422 PUT /v1/config");
    await editor().fill(text.replace(/^workers: 2$/m, "workers: -1"));
    const problem = page.getByRole("list", { name: "Problems" }).getByRole("listitem").first();
    await problem.waitFor({ timeout: 20_000 });
    expect(await problem.innerText()).toMatch(new RegExp(`^line ${line}\\s*/workers: `));
    await expect(page.locator(`.gutter [data-line="${line}"]`).getAttribute("class")).resolves.toBe("bad");
    expect(await page.getByRole("button", { name: "Apply" }).isDisabled()).toBe(true);
    expect(await editor().getAttribute("aria-invalid")).toBe("true");
    expect(await kresdPids()).toEqual(before);
    expect((await apiCall(r.apiSocket, "GET", "/")).json).toMatchObject({ etag: etag.etag });
    await page.getByRole("button", { name: "Discard edits" }).click();
  });

  it("edits workers 2 → 3: the plan, then apply gives 3 kresd, and the page follows by itself", async () => {
    const before = await kresdPids();
    const text = await editor().inputValue();
    await editor().fill(text.replace(/^workers: 2$/m, "workers: 3"));
    await page.getByText(/^Valid: 1 setting\(s\) change/).waitFor({ timeout: 20_000 });
    // The dry run moved nothing.
    expect(await kresdPids()).toEqual(before);
    await page.getByRole("button", { name: "Review changes" }).click();
    const plan = page.getByRole("region", { name: "Plan (dry run)" });
    await plan.waitFor();
    expect(await plan.getByRole("list", { name: "Changed settings" }).innerText()).toMatch(
      /\/workers\s+2 → 3/,
    );
    expect(await plan.locator('[data-move="start"]').innerText()).toContain("kresd:kresd2");
    await plan.scrollIntoViewIfNeeded();
    await screenshot(page, "dashboard-review-1280");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText(/^Applied; the configuration's ETag is now/).waitFor({ timeout: 120_000 });

    const after = await waitFor("3 running kresd", async () => {
      const p = await kresdPids();
      return p.size === 3 ? p : undefined;
    });
    for (const pid of after.values()) expect(isRunning(pid)).toBe(true);
    // No reload: the stream brought the new process list.
    const shown = await waitFor(
      "kresd2 on the page",
      async () => {
        const s = await shownPids();
        return s.get("kresd2") === after.get("kresd:kresd2") ? s : undefined;
      },
      { timeoutMs: 20_000 },
    );
    for (const id of ["kresd0", "kresd1", "kresd2"]) expect(shown.get(id)).toBe(after.get(`kresd:${id}`));
    expect(await editor().inputValue()).toMatch(/^workers: 3$/m);
  });

  (KEEPS_HISTORY ? it : it.skip)(
    "lists the history, diffs the first entry with the running config, restores it after its plan",
    async () => {
      const table = page.getByRole("table", { name: "Configuration history" });
      const rows = table.locator("tbody tr");
      await waitFor("two history entries", async () => ((await rows.count()) >= 2 ? true : undefined), {
        timeoutMs: 20_000,
      });
      const first = rows.last(); // newest first: the last row is the start
      expect(await first.innerText()).toMatch(/start/);
      await first.getByRole("radio", { name: /^A entry/ }).check();
      await page.getByRole("radio", { name: "B is the running configuration" }).check();
      await page.getByRole("button", { name: "Compare A with B" }).click();
      const diff = page.getByLabel("Difference between A and B");
      await diff.waitFor();
      expect(await diff.innerText()).toMatch(/^-workers: 2\n\+workers: 3$/m);

      const before = await kresdPids();
      await first.getByRole("button", { name: /^Review restore/ }).click();
      const plan = page.getByRole("region", { name: /^Restoring entry/ });
      await plan.waitFor({ timeout: 20_000 });
      expect(await plan.getByRole("list", { name: "Changed settings" }).innerText()).toMatch(
        /\/workers\s+3 → 2/,
      );
      expect(await plan.locator('[data-move="stop"]').innerText()).toContain("kresd:kresd2");
      expect(await kresdPids()).toEqual(before); // the review moved nothing
      await page.getByRole("button", { name: /^Restore entry/ }).click();
      await page.getByText(/^Restored entry/).waitFor({ timeout: 120_000 });
      const after = await waitFor("2 running kresd", async () => {
        const p = await kresdPids();
        return p.size === 2 ? p : undefined;
      });
      await waitFor(
        "kresd2 gone from the page",
        async () => {
          const shown = await shownPids();
          return !shown.has("kresd2") && shown.get("kresd0") === after.get("kresd:kresd0") ? true : undefined;
        },
        { timeoutMs: 20_000 },
      );
    },
  );

  it("names every control for assistive technology", async () => {
    const snapshot = await page.locator("body").ariaSnapshot();
    expect(unnamedControls(snapshot)).toEqual([]);
    expect(snapshot).toMatch(/- button "Apply"/);
  });

  it("lays out at 1280 px and 390 px (screenshots in test-artifacts/), the schema page too", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, "dashboard-1280");
    await page.getByRole("heading", { name: "Overview" }).scrollIntoViewIfNeeded();
    await screenshot(page, "dashboard-1280-top", false);
    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing wider than the phone's screen but what scrolls by design (tables, the editor, diffs).
    const overflow = await page.locator("html").evaluate((html) => html.scrollWidth);
    expect(overflow).toBeLessThanOrEqual(390);
    await screenshot(page, "dashboard-390");
    await page.goto(`${ui.origin}/schema/ui`);
    await page.getByRole("heading", { name: "Configuration schema" }).waitFor();
    expect(await page.getByRole("heading", { name: /^workers/ }).innerText()).toMatch(/integer/);
    await page.setViewportSize({ width: 1280, height: 900 });
    await screenshot(page, "schema-1280");
  });

  it("had no console error, no failed request and no error answer but the ones provoked", () => {
    // Chromium logs each error answer as a console error too: only those of the expected ones pass.
    const statuses = new Set([...expectedErrors].map((e) => e.split(" ")[0]));
    const answered = /^Failed to load resource: the server responded with a status of (\d+)/;
    expect(trouble.console.filter((c) => !statuses.has(answered.exec(c)?.[1] ?? ""))).toEqual([]);
    expect(trouble.failed).toEqual([]);
    expect(trouble.errors.filter((e) => !expectedErrors.has(e))).toEqual([]);
  });
});
