import { z } from "zod";

// STUB: to be replaced by the real 'rate-limiting' section.
export const rateLimitingSchema = z.strictObject({}).prefault({});
export type RateLimitingConfig = z.output<typeof rateLimitingSchema>;
