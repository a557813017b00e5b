import { z } from "zod";

// STUB: to be replaced by the real 'lua' section.
export const luaSchema = z.strictObject({}).prefault({});
export type LuaConfig = z.output<typeof luaSchema>;
