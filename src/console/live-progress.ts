import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { followJob, type JobProgress } from './api.js';
import { fmtSeconds, messageOf } from './ui.js';

/** Follows a job over Server-Sent Events until it ends; `onEnd` once it has. */
export function useJobProgress(jobId: string | null, onEnd: (last: JobProgress | null) => void): { progress: JobProgress | null; error: string | null } {
  const [progress, setProgress] = useState<JobProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!jobId) return;
    const abort = new AbortController();
    let last: JobProgress | null = null;
    setProgress(null);
    setError(null);
    followJob(
      jobId,
      (p) => {
        last = p;
        setProgress(p);
      },
      abort.signal,
    ).then(
      () => !abort.signal.aborted && onEnd(last),
      (err: unknown) => !abort.signal.aborted && setError(messageOf(err)),
    );
    return () => abort.abort();
    // onEnd is read when the job ends; following again for a new callback would restart the stream.
  }, [jobId]);
  return { progress, error };
}

/** A job's live progress: a progress bar, pages per second, time left. */
export function ProgressView(props: { progress: JobProgress | null; jobId: string }) {
  const p = props.progress;
  const percent = p?.completedPercentage ?? 0;
  return h(
    'div',
    { class: 'card live', 'aria-live': 'polite', 'data-job': props.jobId },
    h('h3', null, p ? `${p.action === 'restart' ? 'Origin restart' : 'Refresh'}: ${p.progress}` : 'Connecting…'),
    h('progress', { max: 100, value: percent, 'aria-label': 'Job progress', id: 'job-progress' }, `${percent}%`),
    h(
      'p',
      { class: 'figures' },
      h('span', { class: 'percent' }, `${percent}%`),
      ' · ',
      `${p ? p.completedCount : 0} done (${p ? p.unchangedCount : 0} unchanged), ${p ? p.failedCount : 0} failed of ${p ? p.pageCount : '…'}`,
      ' · ',
      h('span', { class: 'rate' }, `${p ? p.pagesPerSecond : 0} pages/s`),
      ' · ',
      `time left ${fmtSeconds(p?.secondsLeft)}`,
    ),
  );
}
