/**
 * `arcgis-all-services`: restart every deployed GIS service (ArcGIS Enterprise 12.0+
 * refreshAllServices, always asynchronous) and wait for the job to complete.
 */
import { z } from 'zod';
import { defineAdapter } from '../adapter-run.js';
import { exactlyOneSecret } from '../config-fields.js';
import { sendOnceOrAdvise } from '../errors.js';
import { createArcgisClient } from './client.js';
import { ARCGIS_SECRET_KEYS, arcgisConnectionFields, resolveArcgisConnection } from './config.js';
import { arcgisJobSubmission, waitForArcgisJob } from './jobs.js';

export const arcgisAllServicesConfig = z.strictObject({ ...arcgisConnectionFields }).superRefine(exactlyOneSecret('password', 'passwordEnv'));

export type ArcgisAllServicesConfig = z.infer<typeof arcgisAllServicesConfig>;

export const arcgisAllServicesAdapter = defineAdapter({
  name: 'arcgis-all-services',
  configSchema: arcgisAllServicesConfig,
  secretKeys: ARCGIS_SECRET_KEYS,
  async run(config, run) {
    const connection = resolveArcgisConnection(config, run);
    const client = createArcgisClient(connection, run);
    const job = await sendOnceOrAdvise(
      () => client.post(`${client.adminRoot}/services/refreshAllServices`, {}, arcgisJobSubmission),
      // The contract has no way to find a job we got no answer for: say where to look instead.
      `Look for a services/refreshAllServices job among the Administrator API's jobs (${client.adminRoot}/jobs) before restarting again`,
    );
    run.report('submitted', `refreshAllServices submitted as job ${job.jobId}`, { platformJobId: job.jobId, state: job.status });
    await waitForArcgisJob(client, run, job, connection.portalUrl);
    return `all GIS services refreshed (job ${job.jobId} COMPLETED)`;
  },
});
