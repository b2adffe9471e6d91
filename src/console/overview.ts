import { h } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, type List, type Site, type SiteStats } from './api.js';
import { BASE, Link, Message, SiteBadge, fmtDate, fmtPercent, siteStatus, useLoad } from './ui.js';

interface Row {
  site: Site;
  stats: SiteStats | null;
}

type Column = 'name' | 'status' | 'role' | 'last' | 'next' | 'cached' | 'failed' | 'freshness';

const COLUMNS: Array<{ key: Column; label: string; value: (r: Row) => string | number }> = [
  { key: 'name', label: 'Site', value: (r) => r.site.name.toLowerCase() },
  { key: 'status', label: 'Status', value: (r) => siteStatus(r.site) },
  { key: 'role', label: 'Your role', value: (r) => r.site.role ?? '' },
  { key: 'last', label: 'Last successful refresh', value: (r) => r.stats?.lastRefresh ?? '' },
  { key: 'next', label: 'Next refresh', value: (r) => r.stats?.nextRefresh ?? '' },
  { key: 'cached', label: 'Pages cached', value: (r) => r.stats?.pagesCached ?? -1 },
  { key: 'failed', label: 'Failed', value: (r) => r.stats?.pagesFailed ?? -1 },
  { key: 'freshness', label: 'Freshness', value: (r) => r.stats?.freshness?.share ?? -1 },
];

async function loadRows(): Promise<Row[]> {
  // Deleted sites too: the overview says what each configured site is to crawlers.
  const sites = await get<List<Site>>('/sites?limit=250&includeDeleted=true');
  return Promise.all(sites.items.map(async (site) => ({ site, stats: await get<SiteStats>(`/sites/${enc(site.id)}/stats`).catch(() => null) })));
}

/** Every site the token has a role on: status, refreshes, counts, freshness; sortable and filterable. */
export function Overview() {
  const { data, error, loading, reload } = useLoad(loadRows, []);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: Column; desc: boolean }>({ key: 'name', desc: false });
  const column = COLUMNS.find((c) => c.key === sort.key) ?? COLUMNS[0]!;
  const needle = filter.trim().toLowerCase();
  const rows = (data ?? [])
    .filter((r) => !needle || `${r.site.name} ${r.site.id} ${r.site.origin} ${siteStatus(r.site)}`.toLowerCase().includes(needle))
    .sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return sort.desc ? -order : order;
    });
  return h(
    'section',
    { 'aria-labelledby': 'overview-title' },
    h('div', { class: 'heading' }, h('h1', { id: 'overview-title' }, 'Sites'), h('button', { type: 'button', onClick: reload, disabled: loading }, 'Reload')),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'site-filter' }, 'Filter sites'),
      h('input', {
        id: 'site-filter',
        type: 'search',
        value: filter,
        placeholder: 'name, id, origin, status',
        onInput: (e: Event) => setFilter((e.target as HTMLInputElement).value),
      }),
      // The column headings sort too, but a phone's card layout hides them.
      h('label', { for: 'site-sort' }, 'Sort by'),
      h(
        'select',
        {
          id: 'site-sort',
          value: `${sort.key}:${sort.desc ? 'desc' : 'asc'}`,
          onChange: (e: Event) => {
            const [key, order] = (e.target as HTMLSelectElement).value.split(':');
            setSort({ key: key as Column, desc: order === 'desc' });
          },
        },
        COLUMNS.flatMap((c) => [h('option', { value: `${c.key}:asc` }, `${c.label} ↑`), h('option', { value: `${c.key}:desc` }, `${c.label} ↓`)]),
      ),
    ),
    h(Message, { error }),
    loading && !data ? h('p', { role: 'status' }, 'Loading…') : null,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'sites' },
        h('caption', { class: 'sr-only' }, 'Sites; column buttons sort'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            COLUMNS.map((c) =>
              h(
                'th',
                { scope: 'col', 'aria-sort': sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none' },
                h(
                  'button',
                  { type: 'button', class: 'sort', onClick: () => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : false }) },
                  c.label,
                  sort.key === c.key ? (sort.desc ? ' ▼' : ' ▲') : '',
                ),
              ),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h(
              'tr',
              { key: r.site.id, 'data-site': r.site.id },
              h(
                'td',
                { 'data-label': 'Site' },
                h(Link, { to: `${BASE}/sites/${enc(r.site.id)}` }, r.site.name),
                h('div', { class: 'muted small' }, r.site.origin),
              ),
              h('td', { 'data-label': 'Status' }, h(SiteBadge, { site: r.site })),
              h('td', { 'data-label': 'Your role' }, r.site.role ?? '—'),
              h('td', { 'data-label': 'Last successful refresh' }, fmtDate(r.stats?.lastRefresh)),
              h('td', { 'data-label': 'Next refresh' }, fmtDate(r.stats?.nextRefresh)),
              h('td', { 'data-label': 'Pages cached', class: 'num' }, r.stats ? String(r.stats.pagesCached) : '—'),
              h('td', { 'data-label': 'Failed', class: 'num' }, r.stats ? String(r.stats.pagesFailed) : '—'),
              h('td', { 'data-label': 'Freshness', class: 'num' }, fmtPercent(r.stats?.freshness?.share)),
            ),
          ),
        ),
      ),
    ),
    data && rows.length === 0 ? h('p', null, data.length === 0 ? 'No sites: this token has no role on any site.' : 'No site matches the filter.') : null,
  );
}
