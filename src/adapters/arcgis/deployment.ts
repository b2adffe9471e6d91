/**
 * `arcgis-deployment`: refresh one ArcGIS Enterprise on Kubernetes deployment (restarts its pods),
 * then optionally wait until the deployment reports STARTED with every replica ready.
 */
import { z } from 'zod';
import { defineAdapter, type AdapterRun } from '../adapter-run.js';
import { exactlyOneSecret, nonEmpty } from '../config-fields.js';
import { sendOnceOrAdvise } from '../errors.js';
import { pollUntil } from '../polling.js';
import type { ArcgisClient } from './client.js';
import { createArcgisClient } from './client.js';
import { ARCGIS_SECRET_KEYS, arcgisConnectionFields, resolveArcgisConnection } from './config.js';
import { arcgisJobSubmission, waitForArcgisJob } from './jobs.js';

export const arcgisDeploymentConfig = z
  .strictObject({
    ...arcgisConnectionFields,
    deploymentId: nonEmpty,
    /** Submit as a job and poll it (true), or wait on the synchronous call (false). */
    async: z.boolean().default(true),
    /** After the refresh, wait for currentState STARTED and readyReplicas == totalReplicas. */
    waitForStatus: z.boolean().default(true),
  })
  .superRefine(exactlyOneSecret('password', 'passwordEnv'));

export type ArcgisDeploymentConfig = z.infer<typeof arcgisDeploymentConfig>;

const syncRefreshResponse = z.looseObject({ status: z.literal('success') });

const deploymentStatus = z.looseObject({
  currentState: z.string(),
  readyReplicas: z.coerce.number(),
  totalReplicas: z.coerce.number(),
});

async function waitForReplicas(client: ArcgisClient, run: AdapterRun, deploymentId: string): Promise<string> {
  const url = `${client.adminRoot}/system/deployments/${encodeURIComponent(deploymentId)}/status`;
  return pollUntil<string>(run, async () => {
    const status = await client.get(url, deploymentStatus);
    const summary = `deployment ${deploymentId}: ${status.currentState}, ${status.readyReplicas}/${status.totalReplicas} replicas ready`;
    const ready = status.currentState === 'STARTED' && status.totalReplicas > 0 && status.readyReplicas >= status.totalReplicas;
    const state = `${status.currentState} ${status.readyReplicas}/${status.totalReplicas}`;
    return ready ? { done: true, value: summary, state, detail: summary } : { done: false, state, detail: summary };
  });
}

export const arcgisDeploymentAdapter = defineAdapter({
  name: 'arcgis-deployment',
  configSchema: arcgisDeploymentConfig,
  secretKeys: ARCGIS_SECRET_KEYS,
  async run(config, run) {
    const connection = resolveArcgisConnection(config, run);
    const client = createArcgisClient(connection, run);
    const id = config.deploymentId;
    const refreshUrl = `${client.adminRoot}/system/deployments/${encodeURIComponent(id)}/refresh`;

    // The contract has no way to find a refresh job we got no answer for: say where to look instead.
    const check = `Look for a refresh of deployment ${id} among the Administrator API's jobs (${client.adminRoot}/jobs) and at its status (${client.adminRoot}/system/deployments/${id}/status) before restarting it again`;
    if (config.async) {
      const job = await sendOnceOrAdvise(() => client.post(refreshUrl, { async: 'true' }, arcgisJobSubmission), check);
      run.report('submitted', `refresh of deployment ${id} submitted as job ${job.jobId}`, { platformJobId: job.jobId, state: job.status });
      await waitForArcgisJob(client, run, job, connection.portalUrl);
    } else {
      // The synchronous call returns when the pods are re-created: no per-request timeout, the deadline bounds it.
      await sendOnceOrAdvise(() => client.post(refreshUrl, { async: 'false' }, syncRefreshResponse, { timeoutMs: null }), check);
      run.report('submitted', `deployment ${id} refreshed synchronously`, { state: 'success' });
    }

    if (!config.waitForStatus) return `deployment ${id} refreshed`;
    return await waitForReplicas(client, run, id);
  },
});
