/**
 * Cloud Foundry v2 restage: POST /v2/apps/{guid}/restage, wait for package_state STAGED,
 * then for every instance RUNNING. A restage that got no answer is never sent again.
 */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError, UnconfirmedRequestError } from '../errors.js';
import { pollUntil, type PollOutcome } from '../polling.js';
import { readCfReply, type CfClient } from './client.js';

const v2App = z.looseObject({
  metadata: z.looseObject({ guid: z.string() }),
  entity: z.looseObject({
    name: z.string().optional(),
    package_state: z.string(),
    staging_failed_reason: z.string().nullish(),
    staging_failed_description: z.string().nullish(),
  }),
});

const v2Instances = z.record(z.string(), z.looseObject({ state: z.string(), details: z.string().nullish(), since: z.number().optional() }));

type V2Instances = z.infer<typeof v2Instances>;

function stagingFailure(name: string, entity: z.infer<typeof v2App>['entity']): string {
  const reason = entity.staging_failed_reason ?? 'unknown reason';
  const description = entity.staging_failed_description ? `: ${entity.staging_failed_description}` : '';
  return `app ${name}: package_state FAILED, ${reason}${description}`;
}

function interpretInstances(name: string, instances: V2Instances): PollOutcome<string> {
  const entries = Object.entries(instances).sort(([a], [b]) => Number(a) - Number(b));
  if (entries.length === 0) return { done: false, state: 'NONE', detail: `app ${name}: no instances reported yet` };
  const counts = new Map<string, number>();
  for (const [, instance] of entries) counts.set(instance.state, (counts.get(instance.state) ?? 0) + 1);
  const state = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  const running = counts.get('RUNNING') ?? 0;
  if (running === entries.length) {
    const detail = `app ${name}: ${running}/${entries.length} instances RUNNING`;
    return { done: true, value: detail, state, detail };
  }
  const notRunning = entries
    .filter(([, instance]) => instance.state !== 'RUNNING')
    .map(([index, instance]) => `instance ${index} ${instance.state}${instance.details ? ` (${instance.details})` : ''}`);
  return { done: false, state, detail: `app ${name}: ${running}/${entries.length} instances RUNNING; ${notRunning.join(', ')}` };
}

/**
 * After a restage request got no answer: an app that is staging (package_state PENDING) is
 * followed instead of restaged again; otherwise nobody can tell whether it was accepted.
 */
async function adoptStaging(cf: CfClient, run: AdapterRun, appPath: string, appGuid: string, unconfirmed: UnconfirmedRequestError): Promise<string> {
  const advice = `Check the app's recent events (cf events) and package_state (GET ${appPath}) before restarting it again`;
  let app: z.infer<typeof v2App>;
  try {
    app = readCfReply(await cf.send('GET', appPath), v2App, 200);
  } catch (error) {
    if (!(error instanceof RestartError)) throw error;
    throw unconfirmed.withAdvice(`Looking at the app failed too (${error.detail}). ${advice}`);
  }
  const name = app.entity.name ?? appGuid;
  const state = app.entity.package_state;
  if (state !== 'PENDING') throw unconfirmed.withAdvice(`App ${name} is not staging (package_state ${state}). ${advice}`);
  run.report(
    'submitted',
    `restage of app ${name} got no answer (${unconfirmed.reason}), but the app is staging: following that staging instead of restaging again`,
    {
      platformJobId: appGuid,
      state,
    },
  );
  return name;
}

async function submitRestage(cf: CfClient, run: AdapterRun, appPath: string, appGuid: string): Promise<string> {
  let submitted: z.infer<typeof v2App>;
  try {
    submitted = readCfReply(await cf.send('POST', `${appPath}/restage`), v2App, 201);
  } catch (error) {
    if (error instanceof UnconfirmedRequestError) return adoptStaging(cf, run, appPath, appGuid, error);
    throw error;
  }
  const name = submitted.entity.name ?? appGuid;
  run.report('submitted', `restage of app ${name} submitted`, { platformJobId: appGuid, state: submitted.entity.package_state });
  return name;
}

export async function restageV2(cf: CfClient, run: AdapterRun, appGuid: string): Promise<string> {
  const appPath = `/v2/apps/${encodeURIComponent(appGuid)}`;
  const name = await submitRestage(cf, run, appPath, appGuid);

  await pollUntil(
    run,
    async () => {
      const app = readCfReply(await cf.send('GET', appPath), v2App, 200);
      const state = app.entity.package_state;
      if (state === 'FAILED') throw new RestartError('job-failed', 'Cloud Foundry staging failed', stagingFailure(name, app.entity));
      const detail = `app ${name}: package_state ${state}`;
      return state === 'STAGED' ? { done: true, value: state, state, detail } : { done: false, state, detail };
    },
    appGuid,
  );

  // CRASHED instances are not final: CF restarts them. They keep us polling until they run or the deadline names them.
  return pollUntil<string>(
    run,
    async () => {
      const reply = await cf.send('GET', `${appPath}/instances`);
      const error = reply.error;
      if (error && (error.name === 'CF-NotStaged' || error.code === 170002)) {
        return { done: false, state: 'NOT_STAGED', detail: `app ${name}: instances not available yet (CF-NotStaged)` };
      }
      if (error && (error.name === 'CF-StagingError' || error.code === 170001)) {
        throw new RestartError('job-failed', 'Cloud Foundry staging failed', `app ${name}: ${error.message || 'CF-StagingError'}`);
      }
      return interpretInstances(name, readCfReply(reply, v2Instances, 200));
    },
    appGuid,
  );
}
