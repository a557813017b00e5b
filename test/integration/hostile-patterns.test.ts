/**
 * Values made to freeze a backtracking pattern (issue 16), sent to a real knot-resolver: a run of
 * characters a pattern accepts, then one that breaks it. Each is refused with 400/422 naming the
 * field, the manager keeps answering `GET /` sent at the same time, and no worker moves. How long a
 * check takes per input length is bench/validation.ts's business, not a test's.
 */
import { jest } from "@jest/globals";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

let r: Resolver;

const api = (method: string, urlPath: string, body?: unknown): Promise<ApiResponse> =>
  apiCall(r.apiSocket, method, urlPath, { body, timeoutMs: 60_000 });

/** The running kresd workers as "name=pid" (what a refused change must leave alone). */
async function workers(): Promise<string> {
  return [...(await r.status())]
    .filter(([name, row]) => name.startsWith("kresd:") && row.state === "RUNNING")
    .map(([name, row]) => `${name}=${row.pid}`)
    .sort()
    .join(" ");
}

/** Sends every request at once together with `GET /`; returns their answers and GET /'s. */
async function beside(
  requests: (() => Promise<ApiResponse>)[],
): Promise<{ answers: ApiResponse[]; root: ApiResponse }> {
  const [root, ...answers] = await Promise.all([api("GET", "/"), ...requests.map((send) => send())]);
  return { answers, root: root as ApiResponse };
}

beforeAll(async () => {
  r = await startResolver({ config: { workers: 1 } });
});

afterAll(async () => {
  await r?.stop();
});

describe("hostile values are refused while the manager keeps answering", () => {
  it("POST /cache/clear with the 64-character bad domain name, and longer ones: 400 naming /name", async () => {
    const names = [
      "a".repeat(63) + "!", // the case: one label of 64
      "a".repeat(63) + " ",
      "a-".repeat(32) + ".", // a last label ending with '-'
      "a".repeat(20_000) + " ",
      "a.".repeat(50_000) + "-",
    ];
    const before = await workers();
    expect(before).toMatch(/^kresd:kresd0=\d+$/);
    const { answers, root } = await beside(names.map((name) => () => api("POST", "/cache/clear", { name })));
    expect(root.status).toBe(200);
    expect(root.json).toMatchObject({ msg: expect.stringContaining("running") });
    for (const [i, res] of answers.entries()) {
      expect([names[i]!.slice(0, 20), res.status]).toEqual([names[i]!.slice(0, 20), 400]);
      expect((res.json as { details: string[] }).details).toEqual([
        `/name: '${names[i]}' is not a valid domain name`,
      ]);
    }
    expect(await workers()).toBe(before);
  });

  it("PUT a view whose tag is 20 000 characters and a hyphen: 422 naming the tag, no worker moved", async () => {
    const tag = "a".repeat(20_000) + "-";
    const before = await workers();
    const config = await api("GET", "/v1/config");
    const { answers, root } = await beside([
      () => api("PUT", "/v1/config/views", [{ subnets: ["192.0.2.0/24"], tags: [tag] }]),
      () => api("PUT", "/v1/config/views", [{ subnets: ["192.0.2.0/24"], tags: ["-" + tag] }]),
    ]);
    expect(root.status).toBe(200);
    for (const res of answers) {
      expect(res.status).toBe(422);
      expect((res.json as { details: string[] }).details).toEqual([
        "/views/0/tags/0: expected lowercase letters, digits and inner hyphens",
      ]);
    }
    expect(await workers()).toBe(before);
    expect((await api("GET", "/v1/config")).headers.etag).toBe(config.headers.etag);
  });

  it("PUT an interface name made of 10 000 'a_' pairs: refused naming the listen entry", async () => {
    const before = await workers();
    const { answers, root } = await beside([
      () => api("PUT", "/v1/config/network/listen/0/interface", "a_".repeat(10_000)),
    ]);
    expect(root.status).toBe(200);
    const res = answers[0]!;
    expect(res.status).toBe(422);
    expect((res.json as { details: string[] }).details[0]).toMatch(/^\/network\/listen\/0\/interface: /);
    expect(await workers()).toBe(before);
  });
});
