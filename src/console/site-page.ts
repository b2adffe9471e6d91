import { h } from 'preact';
import { useState } from 'preact/hooks';
import { call, enc, get, hasRole, type JobStatus, type List, type PageItem, type Site, type SiteStats } from './api.js';
import { Charts } from './charts.js';
import { ProgressView, useJobProgress } from './live-progress.js';
import { BASE, Link, Message, SiteBadge, fmtDate, fmtPercent, fmtTook, messageOf, navigate, useLoad } from './ui.js';

const FAILED_Q = enc('status eq "failed"');
/** POST …/refresh takes at most this many pages. */
const MAX_PAGES = 1000;

interface SiteData {
  site: Site;
  stats: SiteStats;
  jobs: List<JobStatus>;
}

async function loadSite(siteId: string): Promise<SiteData> {
  const id = enc(siteId);
  const [site, stats, jobs] = await Promise.all([
    get<Site>(`/sites/${id}`),
    get<SiteStats>(`/sites/${id}/stats`),
    get<List<JobStatus>>(`/sites/${id}/jobs?limit=20`),
  ]);
  return { site, stats, jobs };
}

/** The failed pages of a job, at most MAX_PAGES, read page by page. */
async function failedPages(jobId: string): Promise<string[]> {
  const urls: string[] = [];
  for (let offset = 0; urls.length < MAX_PAGES; offset += 250) {
    const page = await get<List<PageItem>>(`/sites/_status/${jobId}/pages?q=${FAILED_Q}&offset=${offset}&limit=250`);
    urls.push(...page.items.map((p) => p.pageUrl));
    if (!page.hasMore) break;
  }
  return urls.slice(0, MAX_PAGES);
}

/** One site: its figures, live progress of its running job, actions by role, job history, charts. */
export function SitePage(props: { siteId: string }) {
  const { data, error, reload } = useLoad(() => loadSite(props.siteId), [props.siteId]);
  const [started, setStarted] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [endedBadly, setEndedBadly] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const runningId = started ?? data?.stats.runningJobId ?? null;
  const live = useJobProgress(runningId, (last) => {
    // The ended job stays on screen (its final figures) until another one starts.
    if (last) setStarted(last.id);
    // A failed or aborted job is said as an error, not as good news.
    const ended = last ? `Job ${last.id} ended: ${last.progress}.` : 'The job ended.';
    const good = !last || last.progress === 'succeeded';
    setNotice(good ? ended : null);
    setEndedBadly(good ? null : ended);
    reload();
  });
  const [inspectUrl, setInspectUrl] = useState('');

  if (!data) return h('section', null, h(Message, { error }), error ? null : h('p', { role: 'status' }, 'Loading…'));
  const { site, stats, jobs } = data;
  const manager = hasRole(site.role, 'Manager');
  const owner = hasRole(site.role, 'Owner');
  const running = runningId !== null && (live.progress === null || live.progress.progress === 'pending' || live.progress.progress === 'processing');

  const act = async (what: string, run: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    setNotice(null);
    try {
      await run();
      setNotice(`${what}: done.`);
    } catch (err) {
      setActionError(`${what}: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };
  const startJob = (what: string, path: string, body?: unknown) =>
    act(what, async () => {
      const job = await call<JobStatus>('POST', path, { async: true, ...(body !== undefined ? { body } : {}) });
      setStarted(job.id);
    });
  const id = enc(site.id);

  return h(
    'section',
    { 'aria-labelledby': 'site-title' },
    h('p', { class: 'crumbs' }, h(Link, { to: BASE }, 'Sites'), ' / ', site.name),
    h('div', { class: 'heading' }, h('h1', { id: 'site-title' }, site.name), h(SiteBadge, { site })),
    h('p', { class: 'muted' }, `${site.origin} · id ${site.id} · schedule ${site.schedule} · your role: ${site.role ?? '—'}`),
    h(Message, { error: error ?? actionError ?? endedBadly, notice }),
    h(
      'dl',
      { class: 'figures-grid' },
      h('div', null, h('dt', null, 'Last successful refresh'), h('dd', null, fmtDate(stats.lastRefresh))),
      h('div', null, h('dt', null, 'Next refresh'), h('dd', null, fmtDate(stats.nextRefresh))),
      h('div', null, h('dt', null, 'Pages cached'), h('dd', { id: 'pages-cached' }, String(stats.pagesCached))),
      h('div', null, h('dt', null, 'Pages failed'), h('dd', { id: 'pages-failed' }, String(stats.pagesFailed))),
      h(
        'div',
        null,
        h('dt', null, 'Freshness'),
        h(
          'dd',
          { title: `rendered within ${stats.staleAfterSeconds} s${stats.freshness?.sampled ? ` (first ${stats.freshness.pagesRead} pages)` : ''}` },
          fmtPercent(stats.freshness?.share),
        ),
      ),
    ),
    manager || owner
      ? h(
          'div',
          { class: 'actions', role: 'group', 'aria-label': 'Site actions' },
          manager
            ? h('button', { type: 'button', disabled: busy || running, onClick: () => void startJob('Refresh', `/sites/${id}/refresh`) }, 'Refresh')
            : null,
          manager
            ? h(
                'button',
                {
                  type: 'button',
                  disabled: busy || running || !stats.lastJob || stats.pagesFailed === 0,
                  onClick: () =>
                    void act('Refresh failed pages', async () => {
                      const pages = await failedPages(stats.lastJob!.id);
                      if (pages.length === 0) throw new Error('the last job has no failed pages');
                      const job = await call<JobStatus>('POST', `/sites/${id}/refresh`, { async: true, body: { pages } });
                      setStarted(job.id);
                    }),
                },
                'Refresh failed pages only',
              )
            : null,
          manager && running
            ? h(
                'button',
                { type: 'button', disabled: busy, onClick: () => void act('Cancel', () => call('DELETE', `/sites/_status/${runningId}`)) },
                'Cancel job',
              )
            : null,
          manager && site.originRestart
            ? h(
                'button',
                { type: 'button', disabled: busy || running, onClick: () => void startJob('Restart origin', `/sites/${id}/origin/restart`) },
                'Restart origin',
              )
            : null,
          owner
            ? site.runtimeStatus === 'online'
              ? h(
                  'button',
                  {
                    type: 'button',
                    disabled: busy,
                    onClick: () => void act('Deactivate', async () => (await call('POST', `/sites/${id}/deactivate`), reload())),
                  },
                  'Deactivate',
                )
              : h(
                  'button',
                  { type: 'button', disabled: busy, onClick: () => void act('Activate', async () => (await call('POST', `/sites/${id}/activate`), reload())) },
                  'Activate',
                )
            : null,
        )
      : null,
    runningId ? h(ProgressView, { progress: live.progress, jobId: runningId }) : null,
    h(Message, { error: live.error }),
    h(
      'form',
      {
        class: 'toolbar',
        onSubmit: (e: Event) => {
          e.preventDefault();
          if (inspectUrl.trim()) navigate(`${BASE}/sites/${id}/inspect?url=${enc(inspectUrl.trim())}`);
        },
      },
      h('label', { for: 'inspect-url' }, 'Inspect a page (URL or path)'),
      h('input', {
        id: 'inspect-url',
        type: 'text',
        value: inspectUrl,
        placeholder: '/page/a',
        onInput: (e: Event) => setInspectUrl((e.target as HTMLInputElement).value),
      }),
      h('button', { type: 'submit' }, 'Inspect'),
    ),
    h('h2', null, 'Jobs'),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'jobs' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Started', 'Action', 'Trigger', 'Progress', 'Took', 'Pages', 'Cached', 'Failed', 'Ended', 'Error'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          jobs.items.map((j) =>
            h(
              'tr',
              { key: j.id },
              h(
                'td',
                { 'data-label': 'Started' },
                h(Link, { to: `${BASE}/sites/${id}/jobs/${j.id}`, label: `Pages of the job started ${fmtDate(j.startTime)}` }, fmtDate(j.startTime)),
              ),
              h('td', { 'data-label': 'Action' }, j.action),
              h('td', { 'data-label': 'Trigger' }, j.trigger),
              h('td', { 'data-label': 'Progress' }, h('span', { class: `badge ${j.progress}` }, j.progress), ` ${j.completedPercentage}%`),
              h('td', { 'data-label': 'Took', class: 'num' }, fmtTook(j.startTime, j.endTime)),
              h('td', { 'data-label': 'Pages', class: 'num' }, String(j.pageCount)),
              h('td', { 'data-label': 'Cached', class: 'num' }, String(j.completedCount)),
              h('td', { 'data-label': 'Failed', class: 'num' }, String(j.failedCount)),
              h('td', { 'data-label': 'Ended' }, fmtDate(j.endTime)),
              h('td', { 'data-label': 'Error' }, j.error ? `${j.error.title}: ${j.error.detail}` : ''),
            ),
          ),
        ),
      ),
    ),
    jobs.items.length === 0 ? h('p', { class: 'muted' }, 'No job yet.') : null,
    h('h2', null, 'Charts'),
    h(Charts, { jobs: stats.jobs }),
  );
}
