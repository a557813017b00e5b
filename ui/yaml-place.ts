/**
 * Where things are in the editor's YAML text: the line of a JSON pointer (or of its nearest existing
 * parent, for a key that is missing), and the line of a syntax error.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";

export interface YamlText {
  /** Syntax errors, with their line (1-based). */
  errors: { line: number; message: string }[];
  /** The 1-based line of a JSON pointer's node in the text. */
  lineOf(pointer: string): number;
}

function tokens(pointer: string): string[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function readYaml(text: string): YamlText {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors = doc.errors.map((e) => ({
    line: e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line,
    message: e.message.split("\n")[0] as string,
  }));
  const lineAt = (offset: number) => lines.linePos(offset).line;
  return {
    errors,
    lineOf(pointer: string): number {
      let node: unknown = doc.contents;
      let line = 1;
      for (const t of tokens(pointer)) {
        if (isMap(node)) {
          const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value) === t);
          if (!pair) break;
          const key = pair.key as YamlNode | null;
          if (key?.range) line = lineAt(key.range[0]);
          node = pair.value;
        } else if (isSeq(node)) {
          const item = node.items[Number(t)] as YamlNode | undefined;
          if (!item) break;
          if (item.range) line = lineAt(item.range[0]);
          node = item;
        } else break;
      }
      return line;
    },
  };
}
