/**
 * A change whose workers pass the canary but die afterwards is rolled back by itself to the last
 * config that ran stably (real supervisord and kresd 5.6).
 */
import * as fs from "node:fs";
import { jest } from "@jest/globals";
import * as yaml from "js-yaml";
import { kdigAt, waitFor } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

let r: Resolver;
beforeAll(async () => {
  r = await startResolver({
    config: { workers: 2, "local-data": { addresses: { "stable.test.": "192.0.2.1" } } },
  });
});
afterAll(async () => {
  await r.stop();
});

interface Status {
  "last-rollback"?: { from: string; to: string; reason: string };
  "last-change"?: { source: string; outcome: string };
}

/** Lua that starts fine (READY) and exits two seconds later: the canary cannot see it, the probation does. */
const dyingScript = (code: number) =>
  `${OFFLINE_LUA}\nevent.after(2 * sec, function() os.exit(${code}) end)\n`;

/** PUTs `script` as lua.script (with `query`); the new ETag, unquoted. */
async function putScript(script: string, query = ""): Promise<string> {
  const put = await apiCall(r.apiSocket, "PUT", `/v1/config/lua/script${query}`, {
    body: JSON.stringify(script),
    headers: { "content-type": "application/json" },
  });
  expect(put.status).toBe(200);
  return (put.headers.etag ?? "").replace(/"/g, "");
}

/** The status once the config with ETag `from` has been rolled back. */
function rolledBack(from: string): Promise<Status> {
  return waitFor(
    "the rollback",
    async () => {
      const s = (await apiCall(r.apiSocket, "GET", "/")).json as Status;
      return s["last-rollback"]?.from === from ? s : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

it("restores the last stable config when the new one's workers keep dying after the canary passed", async () => {
  const before = await apiCall(r.apiSocket, "GET", "/v1/config");
  const changed = await putScript(dyingScript(1));

  const status = await rolledBack(changed);
  expect(status["last-rollback"]).toMatchObject({
    from: changed,
    to: before.headers.etag?.replace(/"/g, ""),
    reason: expect.stringMatching(/worker failures within \d+ s of the change/),
  });
  expect(r.log).toMatch(/rolling back to the last stable configuration/);

  const after = await apiCall(r.apiSocket, "GET", "/v1/config");
  expect(after.json).toEqual(before.json);
  expect(after.headers.etag).toBe(before.headers.etag);

  // The restored workers stay up and answer.
  await new Promise((res) => setTimeout(res, 3000));
  const st = await r.status();
  expect([st.get("kresd:kresd0")?.state, st.get("kresd:kresd1")?.state]).toEqual(["RUNNING", "RUNNING"]);
  const pids = [st.get("kresd:kresd0")?.pid, st.get("kresd:kresd1")?.pid];
  await new Promise((res) => setTimeout(res, 2500));
  const later = await r.status();
  expect([later.get("kresd:kresd0")?.pid, later.get("kresd:kresd1")?.pid]).toEqual(pids);
  expect((await kdigAt(r.port, "stable.test.", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.1"]);
});

it("a persisted change that is rolled back is taken out of the config file too", async () => {
  const before = await apiCall(r.apiSocket, "GET", "/v1/config");
  // Not the first test's script: another ETag, so its rollback is told apart.
  const dying = dyingScript(2);
  const changed = await putScript(dying, "?persist=true");
  // Persisted: the next start would run it, were it not rolled back.
  expect(yaml.load(fs.readFileSync(r.configFile, "utf8"))).toMatchObject({ lua: { script: dying } });

  await rolledBack(changed);
  const after = await apiCall(r.apiSocket, "GET", "/v1/config");
  expect(after.headers.etag).toBe(before.headers.etag);
  expect(yaml.load(fs.readFileSync(r.configFile, "utf8"))).toEqual(before.json);
  const status = (await apiCall(r.apiSocket, "GET", "/")).json as Record<string, unknown>;
  expect(status["unpersisted-changes"]).toBe(false);
});
