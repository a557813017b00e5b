/**
 * The history routes of the HTTP layer (GET /v1/history, GET /v1/history/{etag},
 * POST /v1/history/{etag}/restore) driven with supertest against the fake ManagerApi, whose history
 * is a real one on a temporary directory. No process runs.
 */
import * as path from "node:path";
import request from "supertest";
import { History } from "../../../lib/manager/history.js";
import { logger } from "../../../lib/manager/logger.js";
import { createApp } from "../../../lib/manager/server.js";
import { structuralEtag } from "../../../lib/utils/etag.js";
import { tmpDir } from "../../../harness/tmp.js";
import { FakeApi } from "./fake-api.js";

logger.silent = true;

const quoted = (tag: string) => `"${tag}"`;

let api: FakeApi;
let app: ReturnType<typeof createApp>;
/** The documents recorded, oldest first: { workers: 1 } … { workers: 5 }. */
const documents = [1, 2, 3, 4, 5].map((workers) => ({ workers }));
beforeEach(() => {
  api = new FakeApi();
  api.history = History.open(path.join(tmpDir("krm-server-history-"), "history"), () => 100);
  for (const [i, document] of documents.entries())
    api.history.record({ etag: structuralEtag(document), source: `change ${i + 1}`, kind: "api", document });
  app = createApp(api, { kind: "unix" });
});

describe("GET /v1/history", () => {
  it("answers the newest entries first with the page's `next`", async () => {
    const res = await request(app).get("/v1/history?limit=2");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      entries: [
        expect.objectContaining({ id: "000005", etag: quoted(structuralEtag({ workers: 5 })), kind: "api" }),
        expect.objectContaining({ id: "000004", source: "change 4" }),
      ],
      next: "000004",
    });
    expect(api.calls).toEqual([["listHistory", 2, undefined]]);
  });

  it("passes `before` on and answers the last page with next: null", async () => {
    const res = await request(app).get("/v1/history?limit=2&before=000002");
    expect(res.body).toEqual({ entries: [expect.objectContaining({ id: "000001" })], next: null });
    expect(api.calls).toEqual([["listHistory", 2, "000002"]]);
  });

  it("lists without the documents", async () => {
    const res = await request(app).get("/v1/history");
    expect(res.body.entries).toHaveLength(5);
    for (const e of res.body.entries as Record<string, unknown>[])
      expect(Object.keys(e)).not.toContain("config");
  });

  it.each(["abc", "-1", "1.5", "", "99999999999999"])(
    "answers 400 to limit=%p without asking the API",
    async (v) => {
      const res = await request(app).get(`/v1/history?limit=${v}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/'limit'/);
      expect(api.calls).toEqual([]);
    },
  );

  it("answers 400 naming the parameter to a limit out of range (the history's own check)", async () => {
    const res = await request(app).get("/v1/history?limit=0");
    expect([res.status, res.body.error]).toEqual([
      400,
      expect.stringMatching(/'limit' must be an integer from 1/),
    ]);
  });

  it("answers 400 to a `before` that is no ID", async () => {
    expect((await request(app).get("/v1/history?before=x1")).status).toBe(400);
  });

  it("answers 503 with the reason when the manager keeps no history", async () => {
    api.history = undefined;
    const res = await request(app).get("/v1/history");
    expect([res.status, res.body.error]).toEqual([503, expect.stringMatching(/^no history/)]);
  });

  it("answers 405 with Allow to other methods", async () => {
    const res = await request(app).post("/v1/history");
    expect([res.status, res.headers.allow]).toEqual([405, "GET, HEAD"]);
  });
});

describe("GET /v1/history/{etag}", () => {
  const tag = structuralEtag({ workers: 3 });

  it.each([
    ["bare", tag],
    ["quoted, percent-encoded", encodeURIComponent(quoted(tag))],
  ])("answers the entry with its config for an ETag %s", async (_how, segment) => {
    const res = await request(app).get(`/v1/history/${segment}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: "000003",
      etag: quoted(tag),
      time: expect.any(String),
      source: "change 3",
      kind: "api",
      outcome: "applied",
      config: { workers: 3 },
    });
  });

  it("answers 404 for an ETag no entry has", async () => {
    const res = await request(app).get("/v1/history/0123456789abcdef");
    expect([res.status, res.body.error]).toEqual([
      404,
      expect.stringMatching(/no history entry has the ETag/),
    ]);
  });
});

describe("POST /v1/history/{etag}/restore", () => {
  const tag = structuralEtag({ workers: 2 });

  it("restores the entry's config: 200, the new ETag in the header and body, the entry restored from", async () => {
    const before = api.etag;
    const res = await request(app)
      .post(`/v1/history/${tag}/restore?persist=true`)
      .set("If-Match", quoted(before));
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe(quoted(tag));
    expect(res.body).toEqual({ etag: quoted(tag), "restored-from": "000002" });
    expect(api.document).toEqual({ workers: 2 });
    expect(api.calls).toEqual([
      [
        "restoreHistory",
        tag,
        { ifMatch: quoted(before), ifNoneMatch: undefined },
        `POST /v1/history/${tag}/restore`,
        true,
      ],
    ]);
  });

  it("answers 412 and changes nothing when If-Match names another ETag", async () => {
    const before = api.document;
    const res = await request(app).post(`/v1/history/${tag}/restore`).set("If-Match", '"stale"');
    expect(res.status).toBe(412);
    expect(api.document).toBe(before);
  });

  it("answers 404 for an ETag no entry has, and 400 to a bad ?persist=", async () => {
    expect((await request(app).post("/v1/history/0123/restore")).status).toBe(404);
    expect((await request(app).post(`/v1/history/${tag}/restore?persist=yes`)).status).toBe(400);
  });

  it("?dry-run=true answers the plan under the current ETag and changes nothing", async () => {
    const before = api.etag;
    const res = await request(app).post(`/v1/history/${tag}/restore?dry-run=true`);
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe(quoted(before));
    expect(res.body).toMatchObject({ "dry-run": "true", etag: before, "new-etag": tag, changed: true });
    expect(api.etag).toBe(before);
    expect(api.callsTo("restoreHistory")).toEqual([]);
    expect(api.callsTo("planRestore")).toEqual([
      [tag, { ifMatch: undefined, ifNoneMatch: undefined }, "true", `POST /v1/history/${tag}/restore`],
    ]);
  });

  it("?dry-run= answers as the restore would: 412 for a stale If-Match, 404 for no entry, 400 for a bad value", async () => {
    expect(
      (await request(app).post(`/v1/history/${tag}/restore?dry-run=canary`).set("If-Match", '"stale"'))
        .status,
    ).toBe(412);
    expect((await request(app).post("/v1/history/0123/restore?dry-run=true")).status).toBe(404);
    const bad = await request(app).post(`/v1/history/${tag}/restore?dry-run=yes`);
    expect([bad.status, bad.body.error]).toEqual([400, expect.stringMatching(/'dry-run'/)]);
    expect((await request(app).post(`/v1/history/${tag}/restore?dry-run=true&persist=maybe`)).status).toBe(
      400,
    );
    expect(api.callsTo("restoreHistory")).toEqual([]);
  });

  it("answers 405 with Allow to GET", async () => {
    const res = await request(app).get(`/v1/history/${tag}/restore`);
    expect([res.status, res.headers.allow]).toEqual([405, "POST"]);
  });
});
