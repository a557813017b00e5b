import { z } from "zod";

// STUB: to be replaced by the real 'network' section.
export const networkSchema = z.strictObject({}).prefault({});
export type NetworkConfig = z.output<typeof networkSchema>;
