import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import type { Problem } from "../../../lib/datamodel/errors.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { renderViews } from "../../../lib/datamodel/sections/views/render.js";
import { problemsOf, testDirs, validate } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kres-views-");

const valid = (data: Record<string, unknown>): KresConfig => validate({ rundir, ...data });
const problems = (data: Record<string, unknown>): Problem[] => problemsOf({ rundir, ...data });

const views = (...list: unknown[]) => ({ views: list });

describe("views schema", () => {
  it("is absent by default and renders nothing", () => {
    const cfg = valid({});
    expect(cfg.views).toBeUndefined();
    expect(renderViews(cfg)).toBe("");
  });

  it("fills the upstream option defaults", () => {
    const cfg = valid(views({ subnets: ["10.0.0.0/8"], answer: "refused" }));
    expect(cfg.views).toEqual([
      {
        subnets: ["10.0.0.0/8"],
        answer: "refused",
        options: { minimize: true, dns64: true, fallback: true, "price-factor": 1 },
      },
    ]);
  });

  it("accepts every upstream condition and action key", () => {
    const cfg = valid(
      views({
        subnets: ["192.0.2.0/24", "2001:db8::/32", "127.0.0.1", "::1"],
        "dst-subnet": "127.0.0.0/8",
        protocols: ["udp53", "tcp53", "dot", "doh", "doq"],
        answer: "allow",
        options: { minimize: false, dns64: false, fallback: true, "price-factor": 1.0 },
      }),
    );
    expect(cfg.views?.[0]?.protocols).toHaveLength(5);
  });

  it("refuses a view with both tags and answer, or with neither, pointing at the view", () => {
    expect(problems(views({ subnets: ["::/0"], tags: ["a"], answer: "allow" }))).toEqual([
      { pointer: "/views/0", message: "exactly one of 'tags' and 'answer' must be configured" },
    ]);
    expect(problems(views({ subnets: ["::/0"], answer: "allow" }, { subnets: ["::/0"] }))).toEqual([
      { pointer: "/views/1", message: "exactly one of 'tags' and 'answer' must be configured" },
    ]);
  });

  it("counts an empty tag list as no tags, as upstream", () => {
    expect(problems(views({ subnets: ["::/0"], tags: [] }))[0]?.pointer).toBe("/views/0");
    expect(valid(views({ subnets: ["::/0"], tags: [], answer: "refused" })).views?.[0]?.answer).toBe(
      "refused",
    );
  });

  it("requires subnets", () => {
    expect(problems(views({ answer: "allow" }))[0]?.pointer).toBe("/views/0/subnets");
  });

  it("refuses bad subnets, protocols, answers and tags with precise pointers", () => {
    const got = problems(
      views({
        subnets: ["10.0.0.1/8", "nonsense"],
        "dst-subnet": "300.0.0.0/8",
        protocols: ["udp53", "quic"],
        answer: "maybe",
      }),
    );
    expect(got).toEqual(
      expect.arrayContaining([
        { pointer: "/views/0/subnets/0", message: "'10.0.0.1/8' has host bits set" },
        { pointer: "/views/0/subnets/1", message: expect.stringContaining("nonsense") },
        { pointer: "/views/0/dst-subnet", message: expect.stringContaining("300.0.0.0") },
        { pointer: "/views/0/protocols/1", message: "expected one of udp53, tcp53, dot, doh, doq" },
        { pointer: "/views/0/answer", message: "expected one of allow, refused, noanswer" },
      ]),
    );
    expect(problems(views({ subnets: ["::/0"], tags: ["Bad_Tag"] }))[0]?.pointer).toBe("/views/0/tags/0");
  });

  it("refuses unknown keys in a view and in its options", () => {
    expect(problems(views({ subnets: ["::/0"], answer: "allow", extra: 1, options: { foo: true } }))).toEqual(
      expect.arrayContaining([
        { pointer: "/views/0/extra", message: "unknown key" },
        { pointer: "/views/0/options/foo", message: "unknown key" },
      ]),
    );
  });

  it("refuses options kresd 5.6 cannot express, unless left at their defaults", () => {
    expect(problems(views({ subnets: ["::/0"], answer: "allow", options: { fallback: false } }))).toEqual([
      {
        pointer: "/views/0/options/fallback",
        message: "not supported by kresd 5.6: it has no fallback that a view could turn off",
      },
    ]);
    expect(problems(views({ subnets: ["::/0"], answer: "allow", options: { "price-factor": 0 } }))).toEqual([
      {
        pointer: "/views/0/options/price-factor",
        message: "not supported by kresd 5.6: it has no per-client price for rate limiting or defer, got 0",
      },
    ]);
    expect(
      problems(views({ subnets: ["::/0"], answer: "allow", options: { "price-factor": -1 } }))[0]?.pointer,
    ).toBe("/views/0/options/price-factor");
  });
});

describe("tags across /views and /local-data", () => {
  const tagged = (...tags: string[]) => ({ subnets: ["10.0.0.0/8"], tags });
  const rpzFile = path.join(tmp, "x.rpz");
  fs.writeFileSync(rpzFile, "");

  it("accepts rule and RPZ tags that some view assigns", () => {
    const cfg = valid({
      views: [tagged("a", "b")],
      "local-data": {
        rules: [{ name: "x.example", subtree: "empty", tags: ["a"] }],
        rpz: [{ file: rpzFile, tags: ["b"] }],
      },
    });
    expect(cfg.views?.[0]?.tags).toEqual(["a", "b"]);
  });

  it("refuses rule and RPZ tags no view assigns, at the tags of that rule", () => {
    expect(
      problems({
        views: [tagged("a")],
        "local-data": {
          rules: [
            { name: "x.example", subtree: "empty" },
            { name: "y.example", subtree: "empty", tags: ["a", "zz", "yy"] },
          ],
          rpz: [{ file: rpzFile, tags: ["qq"] }],
        },
      }),
    ).toEqual([
      { pointer: "/local-data/rules/1/tags", message: "tags 'zz', 'yy' not found in the tags of /views" },
      { pointer: "/local-data/rpz/0/tags", message: "tags 'qq' not found in the tags of /views" },
    ]);
  });

  it("refuses tags without any views", () => {
    expect(
      problems({ "local-data": { rules: [{ name: "x.example", subtree: "empty", tags: ["a"] }] } }),
    ).toEqual([{ pointer: "/local-data/rules/0/tags", message: "tags 'a' not found in the tags of /views" }]);
  });

  it("reports unused view tags at /views when more than one is unused, as upstream does", () => {
    expect(problems({ views: [tagged("a", "b"), tagged("c")] })).toEqual([
      { pointer: "/views", message: "unused tags 'a', 'b', 'c': no /local-data rule or RPZ uses them" },
    ]);
    expect(valid({ views: [tagged("a")] }).views).toHaveLength(1);
  });
});

describe("views rendering for kresd 5.6", () => {
  it("loads the view module before policy and adds one rule per subnet, most specific first", () => {
    const lua = renderViews(
      valid(
        views(
          { subnets: ["0.0.0.0/0", "::/0"], answer: "refused" },
          { subnets: ["127.0.0.1", "10.1.0.0/16", "::1"], answer: "allow" },
          { subnets: ["10.0.0.0/8"], answer: "noanswer" },
        ),
      ),
    );
    expect(lua).toContain('modules.load("view < policy")');
    const rules = lua.split("\n").filter((l) => l.startsWith("view:addr("));
    expect(rules).toEqual([
      'view:addr("::1/128", krm_views.rule({flags = {}, answer = "allow"}))',
      'view:addr("127.0.0.1/32", krm_views.rule({flags = {}, answer = "allow"}))',
      'view:addr("10.1.0.0/16", krm_views.rule({flags = {}, answer = "allow"}))',
      'view:addr("10.0.0.0/8", krm_views.rule({flags = {}, answer = "noanswer"}))',
      'view:addr("0.0.0.0/0", krm_views.rule({flags = {}, answer = "refused"}))',
      'view:addr("::/0", krm_views.rule({flags = {}, answer = "refused"}))',
    ]);
  });

  it("renders conditions, options as query flags, and tags", () => {
    const lua = renderViews(
      valid({
        views: [
          {
            subnets: ["192.0.2.0/24"],
            "dst-subnet": "127.0.0.1",
            protocols: ["dot", "doh"],
            tags: ["malware", "kids"],
            options: { minimize: false, dns64: false },
          },
        ],
        "local-data": { rules: [{ name: "x.example", subtree: "nxdomain", tags: ["malware", "kids"] }] },
      }),
    );
    expect(lua).toContain(
      'view:addr("192.0.2.0/24", krm_views.rule({flags = {"NO_MINIMIZE", "DNS64_DISABLE"}, ' +
        'tags = {"malware", "kids"}, dst = "127.0.0.1/32", protocols = {"dot", "doh"}}))',
    );
    // views.lua takes the request-tags variable as its argument.
    expect(lua).toContain("local TAGS_VAR = ...");
    expect(lua).toMatch(/local krm_views = \(function\(\.\.\.\)\n[\s\S]*?\nend\)\("krm_tags"\)\n/);
  });

  it("documents every key in the JSON schema", () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const key of ["dst-subnet", "protocols", "price-factor", "minimize"]) expect(schema).toContain(key);
  });
});
