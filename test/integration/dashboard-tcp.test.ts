/**
 * The dashboard on a TCP management interface with management/token-file, in a real headless
 * chromium: its files load without the token, the API answers nothing without it (the page asks
 * for it), and with it the page works, its changes passing the interface's Content-Type checks.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import {
  HeadlessBrowser,
  KEEPS_HISTORY,
  NO_HISTORY_ANSWER,
  watchPage,
  type PageTrouble,
} from "../../harness/browser.js";
import { freePort } from "../../harness/ports.js";
import { waitFor } from "../../harness/procs.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";
import { tmpDir } from "../../harness/tmp.js";

jest.setTimeout(180_000);

const TOKEN = "dashboard-test-token-0123456789abcdef";

let r: Resolver;
let port: number;
let browser: HeadlessBrowser;
let page: Page;
let trouble: PageTrouble;
/** Error answers to requests that carried the token. */
const refusedWithToken: string[] = [];

beforeAll(async () => {
  const dir = tmpDir("krm-dashboard-tcp-");
  const tokenFile = path.join(dir, "api.token");
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  port = await freePort();
  r = await startResolver({
    config: { workers: 1, management: { interface: `127.0.0.1@${port}`, "token-file": tokenFile } },
  });
  browser = await HeadlessBrowser.launch();
  page = await browser.context.newPage();
  trouble = watchPage(page);
  page.on("response", (res) => {
    if (res.status() >= 400 && res.request().headers()["authorization"] !== undefined)
      refusedWithToken.push(`${res.status()} ${res.url()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await r?.stop();
});

describe("the dashboard on a TCP interface with a token", () => {
  it("loads without the token, is refused data without it, and works once it is given", async () => {
    await page.goto(`http://127.0.0.1:${port}/ui/`);
    const form = page.getByRole("form", { name: "API token" });
    await form.waitFor();
    const errors = () => trouble.errors.filter((e) => KEEPS_HISTORY || e !== NO_HISTORY_ANSWER);
    expect(errors().length).toBeGreaterThan(0);
    expect(errors().every((e) => e.startsWith("401 "))).toBe(true);

    await form.getByRole("textbox", { name: "API token" }).fill(TOKEN);
    await form.getByRole("button", { name: "Use token" }).click();
    const pid = await r.pidOf("kresd:kresd0");
    await waitFor(
      "kresd0's PID on the page",
      async () => {
        const cell = page.locator('[data-process="kresd0"] td.pid');
        return (await cell.count()) && Number(await cell.innerText()) === pid ? true : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const editor = page.getByRole("textbox", { name: "Configuration (YAML)" });
    await waitFor("the config in the editor", async () =>
      /^workers: 1$/m.test(await editor.inputValue()) ? true : undefined,
    );

    // A change through the page (a JSON body) passes the checks a cross-origin page could not.
    await page.getByRole("button", { name: "Clear cache" }).click();
    await page.getByText(/^Cleared the whole cache: \d+ records? removed/).waitFor();
    // Every refusal was of a request sent before the token was given; none carried it.
    expect(errors().every((e) => e.startsWith("401 "))).toBe(true);
    expect(refusedWithToken.filter((e) => KEEPS_HISTORY || !e.endsWith("/v1/history?limit=50"))).toEqual([]);
    expect(trouble.failed).toEqual([]);
    const expected = KEEPS_HISTORY ? /status of 401/ : /status of (401|404)/;
    const other = trouble.console.filter((c) => !expected.test(c));
    expect(other).toEqual([]);
  });
});
