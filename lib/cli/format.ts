import * as yaml from "js-yaml";

/** How kresctl prints data it got: `--json` or `--yaml`. */
export type DataFormat = "json" | "yaml";

/**
 * Data as text in the chosen format, ending with a newline. JSON is indented by four spaces, as
 * upstream's kresctl prints it; YAML is block style, one key per line.
 */
export function dumpData(value: unknown, format: DataFormat): string {
  if (value === undefined) return "";
  if (format === "json") return JSON.stringify(value, null, 4) + "\n";
  // Through JSON first: the data is JSON anyway, and js-yaml refuses objects made in another realm
  // (structuredClone's under jest).
  return yaml.dump(JSON.parse(JSON.stringify(value)), { noRefs: true, lineWidth: -1 });
}

/** The format chosen by a command's --json/--yaml flags (the parser refuses both), else `fallback`. */
export function formatOf(args: { json?: boolean; yaml?: boolean }, fallback: DataFormat): DataFormat {
  return args.json ? "json" : args.yaml ? "yaml" : fallback;
}
