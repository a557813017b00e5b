import { unifiedDiff } from "../../../lib/utils/unified-diff.js";

describe("unifiedDiff", () => {
  it("is empty when both texts are equal", () => {
    expect(unifiedDiff("a: 1\n", "a: 1\n", "running", "new")).toBe("");
    expect(unifiedDiff("", "", "running", "new")).toBe("");
  });

  it("names both sides and shows removed and added lines with context", () => {
    const out = unifiedDiff("workers: 2\nnsid: x\n", "workers: 3\nnsid: x\n", "running", "new");
    expect(out).toBe(
      ["--- running", "+++ new", "@@ -1,2 +1,2 @@", "-workers: 2", "+workers: 3", " nsid: x", ""].join("\n"),
    );
  });

  it("keeps distant changes in separate hunks and leaves the lines between them out", () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const changed = lines.map((l, i) => (i === 1 || i === 18 ? `${l} changed` : l));
    const out = unifiedDiff(lines.join("\n") + "\n", changed.join("\n") + "\n", "a", "b");
    expect(out.match(/^@@ /gm)).toHaveLength(2);
    expect(out).toMatch(/^@@ -1,\d+ \+1,\d+ @@$/m);
    expect(out).not.toContain("line 10");
  });

  it("marks a missing final newline the way diff -u does", () => {
    expect(unifiedDiff("a", "b", "x", "y")).toContain("\\ No newline at end of file");
  });

  it("has no Index or underline header lines", () => {
    expect(unifiedDiff("a\n", "b\n", "x", "y").startsWith("--- x\n+++ y\n")).toBe(true);
  });
});
