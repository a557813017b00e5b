import * as yaml from "js-yaml";

/**
 * JSON data as block-style YAML, one key per line, ending with a newline: how kresctl prints YAML
 * and how a dry run's YAML diff shows both sides, so the two read alike.
 */
export function dumpYaml(value: unknown): string {
  // Through JSON first: the data is JSON anyway, and js-yaml refuses objects made in another realm
  // (structuredClone's under jest).
  return yaml.dump(JSON.parse(JSON.stringify(value ?? null)), { noRefs: true, lineWidth: -1 });
}
