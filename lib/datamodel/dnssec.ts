import { z } from "zod";

// STUB: to be replaced by the real 'dnssec' section.
export const dnssecSchema = z.union([z.boolean(), z.strictObject({})]).default(false);
export type DnssecConfig = z.output<typeof dnssecSchema>;
