/**
 * Writes a change of the running document back into the config files it was read from: which
 * pointers changed, which file each belongs to, and the new text of each file that changes. Pure
 * (texts in, texts out); the manager does the file system part (lib/manager/persistence.ts).
 */
import { diffJson, sameJson } from "../../utils/json-diff.js";
import { deepMerge, parseYamlOrJson } from "../../utils/parsing.js";
import { routeChanges } from "./route.js";
import { editJsonText, editYamlText, isJsonText, UneditableText } from "./yaml-text.js";

export { UneditableText } from "./yaml-text.js";

export interface ConfigFileText {
  readonly file: string;
  readonly text: string;
}

/**
 * The new texts of the files that change when the merged document goes from `from` to `to`, in
 * `-c` order. Throws UneditableText when the files cannot be made to say `to` (naming the file).
 */
export function editConfigFiles(files: readonly ConfigFileText[], from: unknown, to: unknown): ConfigFileText[] {
  const values = files.map((f) => parseYamlOrJson(f.text) ?? {});
  const perFile = routeChanges(values, diffJson(from, to));
  const out: ConfigFileText[] = [];
  let merged: unknown = {};
  files.forEach((f, i) => {
    const changes = perFile[i] ?? [];
    let text = f.text;
    if (changes.length > 0) {
      try {
        text = isJsonText(f.text) ? editJsonText(f.text, changes) : editYamlText(f.text, changes);
      } catch (e) {
        throw new UneditableText(`${f.file}: ${(e as Error).message}`);
      }
      if (text !== f.text) out.push({ file: f.file, text });
    }
    merged = deepMerge(merged, parseYamlOrJson(text) ?? {});
  });
  if (!sameJson(merged, to ?? {}))
    throw new UneditableText(
      `${files.map((f) => f.file).join(", ")}: the files cannot be edited to say exactly the new configuration (a value in an earlier file would show through)`,
    );
  return out;
}
