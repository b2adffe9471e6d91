/**
 * Cloud Foundry v3 rolling restage: stage the newest READY package into a new droplet, then
 * roll it out with a rolling deployment and wait until it is FINALIZED with reason DEPLOYED.
 * A build or deployment whose creation got no answer is not looked up (CONTRACTS.md names no
 * list of them): the restart fails saying what to check.
 */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError, sendOnceOrAdvise } from '../errors.js';
import { pollUntil } from '../polling.js';
import { readCfReply, type CfClient } from './client.js';

const packageList = z.looseObject({
  resources: z.array(z.looseObject({ guid: z.string(), state: z.string().optional(), created_at: z.string().optional() })),
});

const build = z.looseObject({
  guid: z.string(),
  state: z.string(),
  error: z.string().nullish(),
  droplet: z.looseObject({ guid: z.string() }).nullish(),
});

const deployment = z.looseObject({
  guid: z.string(),
  status: z.looseObject({ value: z.string(), reason: z.string().nullish() }),
});

async function newestReadyPackage(cf: CfClient, appGuid: string): Promise<string> {
  const query = new URLSearchParams({ app_guids: appGuid, states: 'READY', order_by: '-created_at' });
  const list = readCfReply(await cf.send('GET', `/v3/packages?${query.toString()}`), packageList, 200);
  const newest = list.resources[0];
  if (!newest) throw new RestartError('platform', 'Nothing to restage', `app ${appGuid} has no READY package`);
  return newest.guid;
}

async function stageDroplet(cf: CfClient, run: AdapterRun, packageGuid: string): Promise<string> {
  const created = await sendOnceOrAdvise(
    async () => readCfReply(await cf.send('POST', '/v3/builds', { package: { guid: packageGuid } }), build, 201),
    `Look for a build of package ${packageGuid} (cf curl "/v3/builds?package_guids=${packageGuid}&order_by=-created_at") before restarting again`,
  );
  run.report('submitted', `build ${created.guid} created from package ${packageGuid}`, { platformJobId: created.guid, state: created.state });
  return pollUntil<string>(
    run,
    async () => {
      const current = readCfReply(await cf.send('GET', `/v3/builds/${encodeURIComponent(created.guid)}`), build, 200);
      const detail = `build ${current.guid}: ${current.state}`;
      if (current.state === 'FAILED') {
        throw new RestartError('job-failed', 'Cloud Foundry staging failed', `build ${current.guid} FAILED: ${current.error ?? 'no reason given'}`);
      }
      if (current.state !== 'STAGED') return { done: false, state: current.state, detail };
      if (!current.droplet) {
        throw new RestartError('unexpected-response', 'Unexpected platform response', `build ${current.guid} is STAGED without a droplet`);
      }
      return { done: true, value: current.droplet.guid, state: current.state, detail: `${detail}, droplet ${current.droplet.guid}` };
    },
    created.guid,
  );
}

async function rollOut(cf: CfClient, run: AdapterRun, appGuid: string, dropletGuid: string): Promise<string> {
  const body = { droplet: { guid: dropletGuid }, strategy: 'rolling', relationships: { app: { data: { guid: appGuid } } } };
  const created = await sendOnceOrAdvise(
    async () => readCfReply(await cf.send('POST', '/v3/deployments', body), deployment, 201),
    `Look for a deployment of droplet ${dropletGuid} (cf curl "/v3/deployments?app_guids=${appGuid}&order_by=-created_at") before restarting again`,
  );
  run.report('submitted', `rolling deployment ${created.guid} of droplet ${dropletGuid} created`, {
    platformJobId: created.guid,
    state: created.status.value,
  });
  return pollUntil<string>(
    run,
    async () => {
      const current = readCfReply(await cf.send('GET', `/v3/deployments/${encodeURIComponent(created.guid)}`), deployment, 200);
      const { value, reason } = current.status;
      const state = reason ? `${value}/${reason}` : value;
      const detail = `deployment ${current.guid}: ${state}`;
      if (value !== 'FINALIZED') return { done: false, state, detail };
      if (reason !== 'DEPLOYED') {
        throw new RestartError(
          'job-failed',
          'Cloud Foundry deployment did not complete',
          `deployment ${current.guid} FINALIZED with reason ${reason ?? 'none'}`,
        );
      }
      return { done: true, value: detail, state, detail };
    },
    created.guid,
  );
}

export async function restageV3Rolling(cf: CfClient, run: AdapterRun, appGuid: string): Promise<string> {
  const packageGuid = await newestReadyPackage(cf, appGuid);
  const dropletGuid = await stageDroplet(cf, run, packageGuid);
  const deployed = await rollOut(cf, run, appGuid, dropletGuid);
  return `app ${appGuid} restaged with a rolling deployment (${deployed})`;
}
