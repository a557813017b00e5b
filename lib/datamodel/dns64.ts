import { z } from "zod";

// STUB: to be replaced by the real 'dns64' section.
export const dns64Schema = z.union([z.boolean(), z.strictObject({})]).default(false);
export type Dns64Config = z.output<typeof dns64Schema>;
