import { z } from "zod";

// STUB: to be replaced by the real 'cache' section.
export const cacheSchema = z.strictObject({}).prefault({});
export type CacheConfig = z.output<typeof cacheSchema>;
