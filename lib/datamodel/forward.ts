import { z } from "zod";

// STUB: to be replaced by the real 'forward' section.
export const forwardSchema = z.array(z.strictObject({})).optional();
export type ForwardConfig = z.output<typeof forwardSchema>;
