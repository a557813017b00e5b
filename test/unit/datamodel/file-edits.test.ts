/**
 * Writing a change of the merged config back into its file(s): only the changed lines differ, the
 * result reads back as exactly the new config, several -c files each get their part.
 */
import fc from "fast-check";
import * as Y from "yaml";
import {
  editConfigFiles,
  UneditableText,
  type ConfigFileText,
} from "../../../lib/datamodel/file-edits/index.js";
import { routeChanges } from "../../../lib/datamodel/file-edits/route.js";
import { diffJson, applyJsonChange } from "../../../lib/utils/json-diff.js";
import { deepMerge, parseYamlOrJson } from "../../../lib/utils/parsing.js";
import { fuzzParameters } from "../../../harness/fuzz.js";

const read = (text: string): unknown => parseYamlOrJson(text) ?? {};

/** Edits one file from its own content to `to`; returns the new text. */
function edit(text: string, to: unknown): string {
  const out = editConfigFiles([{ file: "config.yaml", text }], read(text), to).changed;
  return out.length === 0 ? text : (out[0] as ConfigFileText).text;
}

/** The lines of `after` that are not in `before` and the other way round (a line diff, in order). */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { removed: a.slice(start, endA), added: b.slice(start, endB) };
}

const CONFIG = `# Resolver of the lab: comments must survive.
rundir: ./runtime   # where the sockets live
workers: 2

network:
  # plain DNS
  listen:
    - interface: 127.0.0.1@5353
    - interface: '::1@5353'   # IPv6 too
  do-ipv6: true
logging:
  level: "notice"
cache:
  size-max: 100M
`;

describe("diffJson", () => {
  it("names the deepest changed values, keys removed and added, list items appended and dropped", () => {
    expect(diffJson({ a: { b: 1, c: 2 }, l: [1, 2, 3] }, { a: { b: 5 }, l: [1, 9], n: true })).toEqual([
      { op: "delete", path: ["a", "c"] },
      { op: "set", path: ["a", "b"], value: 5 },
      { op: "set", path: ["l", 1], value: 9 },
      { op: "delete", path: ["l", 2] },
      { op: "set", path: ["n"], value: true },
    ]);
    expect(diffJson({ a: 1 }, { a: 1 })).toEqual([]);
    expect(diffJson({ a: [] }, { a: [1] })).toEqual([{ op: "set", path: ["a"], value: [1] }]);
  });
});

describe("editing one YAML file", () => {
  it("changes a scalar on its line only, keeping the trailing comment", () => {
    const out = edit(CONFIG, { ...(read(CONFIG) as object), workers: 4 });
    expect(changedLines(CONFIG, out)).toEqual({ removed: ["workers: 2"], added: ["workers: 4"] });
    const out2 = edit(CONFIG, { ...(read(CONFIG) as object), rundir: "/run/kr" });
    expect(changedLines(CONFIG, out2)).toEqual({
      removed: ["rundir: ./runtime   # where the sockets live"],
      added: ["rundir: /run/kr   # where the sockets live"],
    });
  });

  it("keeps a string's quoting", () => {
    const doc = read(CONFIG) as { logging: object };
    const out = edit(CONFIG, { ...doc, logging: { level: "debug" } });
    expect(changedLines(CONFIG, out)).toEqual({
      removed: ['  level: "notice"'],
      added: ['  level: "debug"'],
    });
  });

  it("edits nested maps and list items in place", () => {
    const doc = read(CONFIG) as { network: { listen: { interface: string }[] } };
    const to = structuredClone(doc);
    (to.network.listen[1] as { interface: string }).interface = "::1@53";
    const out = edit(CONFIG, to);
    expect(changedLines(CONFIG, out)).toEqual({
      removed: ["    - interface: '::1@5353'   # IPv6 too"],
      added: ["    - interface: '::1@53'   # IPv6 too"],
    });
  });

  it("appends a list item and a new key after the last ones, removes a key's line", () => {
    const to = structuredClone(read(CONFIG)) as {
      network: { listen: object[]; "do-ipv6"?: boolean };
      cache: Record<string, unknown>;
    };
    to.network.listen.push({ interface: "127.0.0.2@5353", kind: "dot" });
    to.cache.prefill = [{ origin: "." }];
    delete to.network["do-ipv6"];
    const out = edit(CONFIG, to);
    expect(read(out)).toEqual(to);
    expect(out).toBe(
      CONFIG.replace(
        "    - interface: '::1@5353'   # IPv6 too\n  do-ipv6: true\n",
        "    - interface: '::1@5353'   # IPv6 too\n    - interface: 127.0.0.2@5353\n      kind: dot\n",
      ) + "  prefill:\n    - origin: .\n",
    );
  });

  it("adds a top-level key at the end, and replaces a scalar by a map", () => {
    expect(edit("# a comment\nworkers: 2\n", { workers: 2, nsid: "x" })).toBe(
      "# a comment\nworkers: 2\nnsid: x\n",
    );
    const out = edit("a: 1 # one\nb: 2\n", { a: { x: [1, 2] }, b: 2 });
    expect(read(out)).toEqual({ a: { x: [1, 2] }, b: 2 });
    expect(out).toContain("b: 2\n");
  });

  it("keeps a JSON file JSON, indented as it was", () => {
    const text = '{\n    "workers": 2,\n    "logging": {\n        "level": "notice"\n    }\n}\n';
    const out = edit(text, { workers: 2, logging: { level: "info" }, nsid: "x" });
    expect(JSON.parse(out)).toEqual({ workers: 2, logging: { level: "info" }, nsid: "x" });
    expect(out).toBe(
      '{\n    "workers": 2,\n    "logging": {\n        "level": "info"\n    },\n    "nsid": "x"\n}\n',
    );
  });
});

describe("a change made after others that were not persisted", () => {
  it("writes only its own values: the earlier ones stay out of the file", () => {
    const text = "workers: 2\nnsid: a\n";
    const running = { workers: 3, nsid: "a" }; // workers changed earlier, in memory only
    const { changed, merged } = editConfigFiles([{ file: "c.yaml", text }], running, {
      workers: 3,
      nsid: "b",
    });
    expect(changed).toEqual([{ file: "c.yaml", text: "workers: 2\nnsid: b\n" }]);
    expect(merged).toEqual({ workers: 2, nsid: "b" });
  });
});

describe("several -c files", () => {
  const base = "# base\nworkers: 2\nlogging:\n  level: notice\ncache:\n  size-max: 100M\n";
  const site = "# site\nlogging:\n  level: info\nnsid: site-1\n";
  const files = [
    { file: "/etc/kr/base.yaml", text: base },
    { file: "/etc/kr/site.yaml", text: site },
  ];
  type Merged = { workers: number; logging?: { level: string }; dns64?: object };
  const merged = deepMerge(read(base), read(site)) as Merged;

  it("puts a value in the file that defines it (the later one when both do), a new key in the last file", () => {
    const to = structuredClone(merged);
    to.workers = 4;
    to.logging = { level: "debug" };
    to.dns64 = { enable: true };
    const out = editConfigFiles(files, merged, to).changed;
    expect(out.map((f) => f.file)).toEqual(["/etc/kr/base.yaml", "/etc/kr/site.yaml"]);
    expect(out[0]?.text).toBe(base.replace("workers: 2", "workers: 4"));
    expect(out[1]?.text).toBe("# site\nlogging:\n  level: debug\nnsid: site-1\ndns64:\n  enable: true\n");
  });

  it("deletes a key from every file that defines it, so no earlier value shows through", () => {
    const to = structuredClone(merged);
    delete to.logging;
    const out = editConfigFiles(files, merged, to).changed;
    expect(deepMerge(read(out[0]!.text), read(out[1]!.text))).toEqual(to);
  });

  it("refuses, naming the files, when an earlier file's value would show through", () => {
    // base has cache as a map; site replaces it by a scalar; making it a map again would merge base's keys in.
    const f = [
      { file: "a.yaml", text: "cache:\n  size-max: 100M\n" },
      { file: "b.yaml", text: "cache: null\n" },
    ];
    expect(() => editConfigFiles(f, { cache: null }, { cache: { "min-ttl": "5s" } })).toThrow(UneditableText);
  });

  it("routes list items to the one file whose list wins", () => {
    expect(routeChanges([{ l: [1, 2, 3] }, { l: [7] }], [{ op: "set", path: ["l", 1], value: 8 }])).toEqual([
      [],
      [{ op: "set", path: ["l", 1], value: 8 }],
    ]);
  });
});

// Config-like data: a few keys, scalars that YAML reads in more than one way.
const key = fc.constantFrom("workers", "a", "b-c", "level", "size-max", "x y", "1", "yes");
const scalarValue = fc.oneof(
  fc.integer({ min: -1000, max: 100000 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    "notice",
    "yes",
    "true",
    "10s",
    "1.5",
    "",
    "a: b",
    "#x",
    "two\nlines",
    "ü",
    "'q'",
    "@53",
    "- x",
  ),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    scalarValue,
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(key, tie("v"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).v;
const doc = fc.dictionary(key, value, { maxKeys: 5, noNullPrototype: true });

describe("property: a file edited by the diff reads back as exactly the new document", () => {
  it("holds for random documents and changes, and the file's header comment stays", () => {
    fc.assert(
      fc.property(doc, doc, (from, to) => {
        // A realistic file: the YAML of `from` with a comment line before it.
        const text = `# top comment\n${Y.stringify(from)}`;
        const out = edit(text, to);
        expect(read(out)).toEqual(to);
        expect(out.startsWith("# top comment\n")).toBe(true);
        // Applying the diff as data gives `to` too (the other half of the contract).
        expect(diffJson(from, to).reduce<unknown>((d, c) => applyJsonChange(d, c), from)).toEqual(to);
      }),
      fuzzParameters(300),
    );
  });

  it("holds across two -c files that share no top-level key: together they read back as the new document", () => {
    fc.assert(
      fc.property(doc, doc, doc, (first, second, to) => {
        const b = Object.fromEntries(Object.entries(second).filter(([k]) => !(k in first)));
        const files = [
          { file: "a.yaml", text: `# a\n${Y.stringify(first)}` },
          { file: "b.yaml", text: `# b\n${Y.stringify(b)}` },
        ];
        const { changed, merged } = editConfigFiles(files, deepMerge(first, b), to);
        const texts = files.map((f) => changed.find((c) => c.file === f.file)?.text ?? f.text);
        expect(deepMerge(read(texts[0] as string), read(texts[1] as string))).toEqual(to);
        expect(merged).toEqual(to);
      }),
      fuzzParameters(200),
    );
  });
});
