import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { enc, get, type JobStatus, type List, type PageItem } from './api.js';
import { BASE, Link, Message, fmtDate, useLoad } from './ui.js';

const LIMIT = 50;
const STATUSES = ['', 'pending', 'processing', 'complete', 'failed'] as const;

/**
 * A job's pages, paged from the API (50 at a time), filtered by status (`q`) and by URL
 * (`search`) there: a job may hold 100,000 pages, never all loaded here.
 */
export function JobPages(props: { siteId: string; jobId: string }) {
  const [status, setStatus] = useState<(typeof STATUSES)[number]>('');
  const [offset, setOffset] = useState(0);
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  // Searched once typing pauses, not on every key.
  useEffect(() => {
    const timer = setTimeout(() => {
      setApplied(search.trim());
      setOffset(0);
    }, 300);
    return () => clearTimeout(timer);
  }, [search]);
  const job = useLoad(() => get<JobStatus>(`/sites/_status/${props.jobId}`), [props.jobId]);
  const pages = useLoad(
    () =>
      get<List<PageItem>>(
        `/sites/_status/${props.jobId}/pages?offset=${offset}&limit=${LIMIT}${status ? `&q=${enc(`status eq "${status}"`)}` : ''}${applied ? `&search=${enc(applied)}` : ''}`,
      ),
    [props.jobId, status, offset, applied],
  );
  const site = enc(props.siteId);
  const items = pages.data?.items ?? [];
  const total = pages.data?.totalResults ?? 0;
  return h(
    'section',
    { 'aria-labelledby': 'job-title' },
    h('p', { class: 'crumbs' }, h(Link, { to: BASE }, 'Sites'), ' / ', h(Link, { to: `${BASE}/sites/${site}` }, props.siteId), ' / job'),
    h('h1', { id: 'job-title' }, 'Job pages'),
    job.data
      ? h(
          'p',
          { class: 'muted' },
          `${job.data.action} · ${job.data.progress} · started ${fmtDate(job.data.startTime)} · ${job.data.completedCount} cached (${job.data.unchangedCount} unchanged), ${job.data.failedCount} failed of ${job.data.pageCount}`,
        )
      : null,
    h(Message, { error: job.error ?? pages.error }),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'page-status' }, 'Status'),
      h(
        'select',
        {
          id: 'page-status',
          value: status,
          onChange: (e: Event) => {
            setStatus((e.target as HTMLSelectElement).value as (typeof STATUSES)[number]);
            setOffset(0);
          },
        },
        STATUSES.map((s) => h('option', { value: s }, s || 'any')),
      ),
      h('label', { for: 'page-search' }, 'Search URLs'),
      h('input', { id: 'page-search', type: 'search', value: search, onInput: (e: Event) => setSearch((e.target as HTMLInputElement).value) }),
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'pages' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['URL', 'Variant', 'Status', 'Outcome', 'HTTP', 'Rendered', 'Time', 'Bytes', 'Error'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          items.map((p) =>
            h(
              'tr',
              { key: `${p.pageUrl} ${p.variant}`, 'data-status': p.status },
              h(
                'td',
                { 'data-label': 'URL', class: 'url' },
                h(
                  Link,
                  { to: `${BASE}/sites/${site}/inspect?url=${enc(p.pageUrl)}&variant=${enc(p.variant)}`, label: `Inspect ${p.pageUrl} (${p.variant})` },
                  p.pageUrl,
                ),
              ),
              h('td', { 'data-label': 'Variant' }, p.variant),
              h('td', { 'data-label': 'Status' }, h('span', { class: `badge ${p.status}` }, p.status)),
              h('td', { 'data-label': 'Outcome' }, p.outcome ?? '—'),
              h('td', { 'data-label': 'HTTP', class: 'num' }, p.httpStatus === null ? '—' : String(p.httpStatus)),
              h('td', { 'data-label': 'Rendered' }, fmtDate(p.renderedAt)),
              h('td', { 'data-label': 'Time', class: 'num' }, p.renderTimeMs === null ? '—' : `${p.renderTimeMs} ms`),
              h('td', { 'data-label': 'Bytes', class: 'num' }, p.bytes === null ? '—' : String(p.bytes)),
              h('td', { 'data-label': 'Error' }, p.error ? `${p.error.title}: ${p.error.detail}` : ''),
            ),
          ),
        ),
      ),
    ),
    pages.data && items.length === 0 ? h('p', { class: 'muted' }, 'No page matches.') : null,
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of the list' },
      h('button', { type: 'button', disabled: offset === 0, onClick: () => setOffset(Math.max(0, offset - LIMIT)) }, 'Previous'),
      h('span', null, total ? `${offset + 1}–${offset + (pages.data?.count ?? 0)} of ${total}` : ''),
      h('button', { type: 'button', disabled: !pages.data?.hasMore, onClick: () => setOffset(offset + LIMIT) }, 'Next'),
    ),
  );
}
