/**
 * The configuration schema (GET /schema, the JSON Schema kresctl and editors use) as a readable
 * page: one section per top-level key, each key with its type, default and description. This is
 * what /schema/ui shows (upstream sends the browser to an external viewer instead).
 */
import { useEffect, useState } from "preact/hooks";
import { call, errorText } from "./api.js";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A schema's type as a person reads it: 'integer 1…65535', "'auto' | integer", 'list of string'. */
export function typeText(s: JsonSchema): string {
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return [...new Set(alts.map(typeText))].join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type ?? "any");
  if (t === "array") return `list of ${s.items ? typeText(s.items) : "any"}`;
  if (t === "object" && !s.properties && typeof s.additionalProperties === "object")
    return `map of ${typeText(s.additionalProperties)}`;
  const min = s.minimum !== undefined && s.minimum > -MAX_SAFE ? s.minimum : undefined;
  const max = s.maximum !== undefined && s.maximum < MAX_SAFE ? s.maximum : undefined;
  const range = min !== undefined || max !== undefined ? ` ${min ?? ""}…${max ?? ""}` : "";
  return `${t}${range}`;
}

interface Row {
  key: string;
  depth: number;
  schema: JsonSchema;
}

/** Every key under a section, depth first: objects' properties, and those of a list's objects. */
function rows(props: Record<string, JsonSchema>, prefix: string, depth: number, out: Row[]): Row[] {
  for (const [k, s] of Object.entries(props)) {
    const key = prefix ? `${prefix}/${k}` : k;
    out.push({ key, depth, schema: s });
    const inner = s.properties ?? s.items?.properties ?? s.anyOf?.find((a) => a.properties)?.properties;
    if (inner && depth < 4) rows(inner, s.items ? `${key}[]` : key, depth + 1, out);
  }
  return out;
}

function defaultText(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "object" && v !== null && Object.keys(v).length === 0) return "";
  return JSON.stringify(v);
}

export function SchemaPage() {
  const [schema, setSchema] = useState<JsonSchema | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    void call<JsonSchema>("GET", "/schema").then((a) => (a.ok ? setSchema(a.body) : setError(errorText(a))));
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!schema?.properties) return <p role="status">Loading the schema…</p>;
  return (
    <section aria-labelledby="schema-title" class="panel schema">
      <h2 id="schema-title">Configuration schema</h2>
      <p>{schema.description}</p>
      <nav aria-label="Schema sections" class="toc">
        {Object.keys(schema.properties).map((k) => (
          <a key={k} href={`#schema/${k}`}>
            {k}
          </a>
        ))}
      </nav>
      {Object.entries(schema.properties).map(([name, s]) => (
        <section key={name} id={`schema/${name}`} class="schema-section" aria-labelledby={`schema-${name}`}>
          <h3 id={`schema-${name}`}>
            <code>{name}</code> <span class="type">{typeText(s)}</span>
          </h3>
          {s.description && <p>{s.description}</p>}
          {defaultText(s.default) && (
            <p>
              Default: <code>{defaultText(s.default)}</code>
            </p>
          )}
          {s.properties && (
            <div class="table-wrap">
              <table aria-label={`Keys of ${name}`}>
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Type</th>
                    <th scope="col">Default</th>
                    <th scope="col">Description</th>
                  </tr>
                </thead>
                <tbody>
                  {rows(s.properties, "", 0, []).map((r) => (
                    <tr key={r.key}>
                      <th scope="row" style={{ paddingLeft: `${0.4 + r.depth}em` }}>
                        <code>{r.key}</code>
                      </th>
                      <td>{typeText(r.schema)}</td>
                      <td>
                        <code>{defaultText(r.schema.default)}</code>
                      </td>
                      <td>{r.schema.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
    </section>
  );
}
