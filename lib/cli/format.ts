import { dumpYaml } from "../utils/yaml-dump.js";

/** How kresctl prints data it got: `--json` or `--yaml`. */
export type DataFormat = "json" | "yaml";

/**
 * Data as text in the chosen format, ending with a newline. JSON is indented by four spaces, as
 * upstream's kresctl prints it; YAML is block style, one key per line.
 */
export function dumpData(value: unknown, format: DataFormat): string {
  if (value === undefined) return "";
  if (format === "json") return JSON.stringify(value, null, 4) + "\n";
  return dumpYaml(value);
}

/** The format chosen by a command's --json/--yaml flags (the parser refuses both), else `fallback`. */
export function formatOf(args: { json?: boolean; yaml?: boolean }, fallback: DataFormat): DataFormat {
  return args.json ? "json" : args.yaml ? "yaml" : fallback;
}
