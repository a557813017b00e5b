/**
 * Writes a change of the running document back into the config files it was read from: which
 * values changed, which file each belongs to, and the new text of each file that changes. Pure
 * (texts in, texts out); the manager does the file system part (lib/manager/persistence.ts).
 */
import { applyJsonChange, diffJson, sameJson } from "../../utils/json-diff.js";
import { deepMerge, parseYamlOrJson } from "../../utils/parsing.js";
import { routeChanges } from "./route.js";
import { editJsonText, editYamlText, isJsonText, UneditableText } from "./yaml-text.js";

export { UneditableText } from "./yaml-text.js";

export interface ConfigFileText {
  readonly file: string;
  readonly text: string;
}

export interface FileEdits {
  /** The new texts of the files that change, in `-c` order. */
  changed: ConfigFileText[];
  /** What the files say once edited (merged): theirs before, with the change made. */
  merged: unknown;
}

function mergedOf(values: readonly unknown[]): unknown {
  return values.reduce<unknown>((m, v) => deepMerge(m, v), {});
}

/**
 * The change that takes the merged document from `from` to `to`, made in the files: only the values
 * it touches, each in its file (see routeChanges). Changes the files lacked before (made without
 * persisting) stay out of them. Throws UneditableText when the files cannot be made to say it
 * exactly, naming the file(s).
 */
export function editConfigFiles(files: readonly ConfigFileText[], from: unknown, to: unknown): FileEdits {
  const changes = diffJson(from, to);
  const values = files.map((f) => parseYamlOrJson(f.text) ?? {});
  const perFile = routeChanges(values, changes);
  const edited = files.map((f, i) => {
    const own = perFile[i] ?? [];
    if (own.length === 0) return { text: f.text, value: values[i] };
    try {
      return isJsonText(f.text) ? editJsonText(f.text, own, values[i]) : editYamlText(f.text, own, values[i]);
    } catch (e) {
      throw new UneditableText(`${f.file}: ${(e as Error).message}`);
    }
  });
  const texts = edited.map((e) => e.text);
  // Each edited text was read back already (editYamlText); what they say together must be the change.
  const expected = changes.reduce<unknown>((d, c) => applyJsonChange(d, c), mergedOf(values));
  const merged = mergedOf(edited.map((e) => e.value));
  if (!sameJson(merged, expected ?? {}))
    throw new UneditableText(
      `${files.map((f) => f.file).join(", ")}: the files cannot be edited to say exactly the new configuration (a value in an earlier file would show through)`,
    );
  const changed = files.flatMap((f, i) =>
    texts[i] === f.text ? [] : [{ file: f.file, text: texts[i] as string }],
  );
  return { changed, merged };
}
