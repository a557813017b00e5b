/**
 * Which config file a change belongs to, given how several `-c` files merge (later files override
 * earlier ones key by key; lists and scalars are replaced whole: lib/utils/parsing.ts deepMerge).
 */
import { applyJsonChange, type JsonChange } from "../../utils/json-diff.js";
import { isPlainObject } from "../../utils/parsing.js";

/** The files (by index) whose values at `path` make up the merged value there; [] when none has it. */
function holders(files: readonly unknown[], path: JsonChange["path"]): { parents: number[]; here: number[] } {
  let current = files.map((_f, i) => i);
  let values = files.map((f) => (isPlainObject(f) ? f : {}) as unknown);
  for (let d = 0; d < path.length; d++) {
    const key = path[d] as string | number;
    const having = current.filter((i) => {
      const v = values[i];
      if (Array.isArray(v)) return typeof key === "number" && key < v.length;
      return isPlainObject(v) && Object.hasOwn(v, String(key));
    });
    if (d === path.length - 1) return { parents: current, here: having };
    if (having.length === 0) return { parents: current, here: [] };
    values = values.map((v) =>
      Array.isArray(v) ? v[key as number] : isPlainObject(v) ? v[String(key)] : undefined,
    );
    const last = having[having.length - 1] as number;
    if (!isPlainObject(values[last])) current = [last];
    else {
      // The objects after the last file that replaced the value whole: they merge.
      let from = having.length - 1;
      while (from > 0 && isPlainObject(values[having[from - 1] as number])) from -= 1;
      current = having.slice(from);
    }
  }
  return { parents: current, here: current };
}

/**
 * Splits changes of the merged document into changes of each file: a value goes to the file that
 * defines it (the last one, whose value wins), a new key to the last file that makes up its parent
 * (at the top: the last file), and a deletion to every file that defines the key, so that no
 * earlier file's value shows through. `files` are the files' parsed values, in `-c` order.
 */
export function routeChanges(files: readonly unknown[], changes: readonly JsonChange[]): JsonChange[][] {
  const perFile: JsonChange[][] = files.map(() => []);
  const values = [...files];
  for (const change of changes) {
    const { parents, here } = holders(values, change.path);
    const targets =
      change.op === "delete" ? here : [here.length > 0 ? here[here.length - 1] : parents[parents.length - 1]];
    for (const t of targets) {
      if (t === undefined) continue;
      perFile[t]?.push(change);
      values[t] = applyJsonChange(values[t] ?? {}, change);
    }
  }
  return perFile;
}
