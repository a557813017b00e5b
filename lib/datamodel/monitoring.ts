import { z } from "zod";

// STUB: to be replaced by the real 'monitoring' section.
export const monitoringSchema = z.strictObject({}).prefault({});
export type MonitoringConfig = z.output<typeof monitoringSchema>;
