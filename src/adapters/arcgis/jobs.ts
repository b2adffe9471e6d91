/**
 * ArcGIS asynchronous jobs: reading a submission (both key spellings) and polling the job
 * resource at `jobsUrl`, as given, until it ends, provided it is on the portal's origin.
 */
import { z } from 'zod';
import type { AdapterRun } from '../adapter-run.js';
import { RestartError } from '../errors.js';
import { summarize } from '../platform-response.js';
import { pollUntil, type PollOutcome } from '../polling.js';
import type { ArcgisClient } from './client.js';

export interface ArcgisJobSubmission {
  jobsUrl: string;
  jobId: string;
  status: string;
}

/** Deployment refresh says `jobID`/`jobStatus`, refreshAllServices says `jobid`/`status`. */
export const arcgisJobSubmission = z
  .looseObject({
    jobsUrl: z.string().min(1),
    jobID: z.string().min(1).optional(),
    jobid: z.string().min(1).optional(),
    jobStatus: z.string().optional(),
    status: z.string().optional(),
  })
  .transform((value, ctx): ArcgisJobSubmission => {
    const jobId = value.jobID ?? value.jobid;
    if (jobId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jobID'], message: 'no job id (jobID or jobid)' });
      return z.NEVER;
    }
    return { jobsUrl: value.jobsUrl, jobId, status: value.jobStatus ?? value.status ?? 'SUBMITTED' };
  });

const jobResource = z.looseObject({
  status: z.string().optional(),
  jobStatus: z.string().optional(),
  messages: z.array(z.unknown()).optional(),
  result: z.unknown().optional(),
});

type JobResource = z.infer<typeof jobResource>;

const FAILED_STATES = new Set(['FAILED', 'CANCELLED']);

function failureDetail(jobId: string, status: string, job: JobResource): string {
  const parts = [`job ${jobId} ended ${status}`];
  if (job.messages && job.messages.length > 0) parts.push(job.messages.map((message) => summarize(message, 200)).join('; '));
  if (job.result !== undefined && job.result !== null && job.result !== '') parts.push(`result: ${summarize(job.result, 300)}`);
  return parts.join(': ');
}

function interpret(jobId: string, job: JobResource, jobsUrl: string): PollOutcome<string> {
  const status = job.status ?? job.jobStatus;
  if (status === undefined) {
    throw new RestartError('unexpected-response', 'Unexpected platform response', `job ${jobId} at ${new URL(jobsUrl).pathname}: no status`);
  }
  if (status === 'COMPLETED') return { done: true, value: status, state: status, detail: `job ${jobId}: COMPLETED` };
  if (FAILED_STATES.has(status)) throw new RestartError('job-failed', `ArcGIS job ${status}`, failureDetail(jobId, status, job));
  // UNAVAILABLE: the job record cannot be read right now (the admin pods may be restarting
  // themselves); keep polling, and the deadline bounds how long.
  const note = status === 'UNAVAILABLE' ? ' (job status temporarily unavailable; still polling)' : '';
  return { done: false, state: status, detail: `job ${jobId}: ${status}${note}` };
}

/** `jobsUrl` resolved against the portal; one on another origin is refused (polling it would send the token there). */
function jobUrlOnPortal(submission: ArcgisJobSubmission, portalUrl: string): string {
  const jobsUrl = new URL(submission.jobsUrl, `${portalUrl}/`);
  const portalOrigin = new URL(portalUrl).origin;
  if (jobsUrl.origin === portalOrigin) return jobsUrl.toString();
  throw new RestartError(
    'unexpected-response',
    'ArcGIS job on another origin',
    `job ${submission.jobId} was submitted, but its jobsUrl is on ${jobsUrl.origin}, not the portal's origin ${portalOrigin}; ` +
      `rendercache sends the ArcGIS token only to the portal, so it did not poll the job. Follow job ${submission.jobId} in the ` +
      `Administrator API; if the portal calls itself ${jobsUrl.origin}, set portalUrl to that origin`,
  );
}

/** Polls the job until COMPLETED; FAILED and CANCELLED throw. */
export async function waitForArcgisJob(client: ArcgisClient, run: AdapterRun, submission: ArcgisJobSubmission, portalUrl: string): Promise<void> {
  const jobsUrl = jobUrlOnPortal(submission, portalUrl);
  await pollUntil(run, async () => interpret(submission.jobId, await client.get(jobsUrl, jobResource), jobsUrl), submission.jobId);
}
