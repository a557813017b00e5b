import { z } from "zod";

// STUB: to be replaced by the real 'views' section.
export const viewsSchema = z.array(z.strictObject({})).optional();
export type ViewsConfig = z.output<typeof viewsSchema>;
