import { z } from "zod";
import { readableFile } from "../../types/index.js";
import { UNSUPPORTED } from "../../kresd56.js";
import { orNull } from "../../upstream.js";

const NO_POLICY_LOADER = "there is no policy-loader process (no shared rules database), use 'script' instead";

export const luaSchema = z
  .strictObject({
    "script-only": z.boolean().default(false).meta({
      description: "Give the workers only the Lua of this section, nothing generated from the rest.",
    }),
    script: orNull(z.string({ error: "expected a string of Lua code" })).meta({
      description: "Lua code run by every worker after the generated configuration.",
    }),
    "script-file": orNull(readableFile).meta({
      description: "File of Lua code run by every worker after the generated configuration.",
    }),
    "policy-script-only": z.boolean().default(false).meta({
      description: "Upstream's policy-loader counterpart of script-only; kresd 5.6 has no policy-loader.",
    }),
    "policy-script": orNull(z.string({ error: "expected a string of Lua code" })).meta({
      description: "Upstream's Lua for the policy-loader; kresd 5.6 has no policy-loader.",
    }),
    "policy-script-file": orNull(readableFile).meta({
      description: "Upstream's Lua file for the policy-loader; kresd 5.6 has no policy-loader.",
    }),
  })
  .superRefine((lua, ctx) => {
    if (lua.script && lua["script-file"] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["script-file"],
        message: "'script' and 'script-file' are both set; use only one of them",
      });
    }
    if (lua["policy-script"] && lua["policy-script-file"] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["policy-script-file"],
        message: "'policy-script' and 'policy-script-file' are both set; use only one of them",
      });
    }
    for (const key of ["policy-script-only", "policy-script", "policy-script-file"] as const) {
      const value = lua[key];
      if (value !== undefined && value !== false) {
        ctx.addIssue({ code: "custom", path: [key], message: `${UNSUPPORTED}: ${NO_POLICY_LOADER}` });
      }
    }
  })
  .prefault({})
  .meta({ description: "Custom Lua for the workers; raw Lua, not validated." });

export type LuaConfig = z.output<typeof luaSchema>;
