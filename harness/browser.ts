/**
 * A real headless browser for the dashboard's tests and benchmark: Debian's chromium driven by
 * playwright-core (nothing is downloaded), with a fresh profile each launch and the flags that keep
 * it from calling out (the machine's network is closed). `kresctl ui` (startUiProxy) is the way in
 * to a test resolver, whose API is on a unix socket.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { configJsonSchema } from "../lib/datamodel/json-schema.js";
import { GroupProcess, waitFor } from "./procs.js";
import { KRESCTL, REPO_ROOT } from "./repo.js";
import { tmpDir } from "./tmp.js";

export const CHROMIUM = "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Whether this manager keeps a history of configurations (the `history` section, issue 18): without
 * it GET /v1/history is a 404, which the page shows as "keeps no history".
 */
export const KEEPS_HISTORY = "history" in ((configJsonSchema().properties ?? {}) as Record<string, unknown>);

/** The error answer a page gets from a manager without history, once per load. */
export const NO_HISTORY_ANSWER = "404 GET /v1/history";

/** Where test runs leave screenshots (gitignored). */
export const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

/** Chromium with a fresh profile directory; close() removes it with the browser. */
export class HeadlessBrowser {
  private constructor(
    readonly context: BrowserContext,
    private readonly browser: Browser | undefined,
  ) {}

  static async launch(): Promise<HeadlessBrowser> {
    const profile = tmpDir("krm-chromium-");
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: FLAGS,
      headless: true,
      viewport: { width: 1280, height: 900 },
    });
    return new HeadlessBrowser(context, context.browser() ?? undefined);
  }

  async close(): Promise<void> {
    await this.context.close();
    await this.browser?.close();
  }
}

/** What went wrong on a page: console errors, requests that failed, error answers. */
export interface PageTrouble {
  console: string[];
  failed: string[];
  /** Answers with status ≥ 400: "STATUS METHOD URL". */
  errors: string[];
}

/** Records a page's console errors, failed requests and error answers from now on. */
export function watchPage(page: Page): PageTrouble {
  const t: PageTrouble = { console: [], failed: [], errors: [] };
  page.on("console", (m) => {
    if (m.type() === "error") t.console.push(m.text());
  });
  page.on("pageerror", (e) => t.console.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A stream the page itself closes on navigation or close is not a failure.
    if (r.failure()?.errorText === "net::ERR_ABORTED" && r.url().endsWith("/v1/stream")) return;
    t.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? "?"}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400)
      t.errors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
  return t;
}

/** Lines of an ARIA snapshot naming a control without an accessible name. */
export function unnamedControls(ariaSnapshot: string): string[] {
  const controls =
    /^\s*- (button|textbox|checkbox|radio|combobox|link|spinbutton|slider|switch|searchbox)(?=\s*(?:\[|:|$))/;
  return ariaSnapshot.split("\n").filter((l) => controls.test(l));
}

/** `kresctl -s SOCKET ui`: the proxy process and the URL (with its token) it printed. */
export class UiProxyProcess {
  private constructor(
    readonly proc: GroupProcess,
    readonly url: string,
  ) {}

  static async start(apiSocket: string): Promise<UiProxyProcess> {
    const proc = new GroupProcess(KRESCTL, ["-s", apiSocket, "ui"], { name: "kresctl ui" });
    const url = await waitFor(
      "kresctl ui's URL",
      () => /http:\/\/127\.0\.0\.1:\d+\/ui\/#token=\S+/.exec(proc.stdout)?.[0],
      { timeoutMs: 20_000, abort: () => (proc.running ? undefined : `kresctl ui exited: ${proc.stderr}`) },
    );
    return new UiProxyProcess(proc, url);
  }

  /** The proxy's address without the fragment. */
  get origin(): string {
    return new URL(this.url).origin;
  }

  async stop(): Promise<void> {
    await this.proc.stop({ signal: "SIGTERM" });
  }
}

/** Writes a screenshot of the whole page (or of what the viewport shows) under test-artifacts/; returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}
